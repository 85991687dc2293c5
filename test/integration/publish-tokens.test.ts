// Issue #15 (8, 9): a WebSocket publisher's token refresh is checked with the upgrade's Origin, and a
// single-use publish token is used up only by a session that was admitted: not by the publisher
// page's preliminary check, not by a refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { openPublisher } from '../helpers/ws-client.js';
import { eventually } from '../helpers/http.js';
import { nowSec, sign } from '../helpers/tokens.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer(testConfig(undefined, { auth: { singleUsePublish: true } }));
});
afterAll(async () => {
  await server.stop();
});

const wsUrl = (stream: string, token: string) =>
  `ws://127.0.0.1:${server.httpPort}/ws/${stream}?token=${token}`;
const publishToken = (stream: string, jti: string, extra: Record<string, unknown> = {}) =>
  sign({ sub: stream, scope: 'publish', jti, exp: nowSec() + 300, ...extra }, { kid: 'hs' });

async function rtmpPublish(
  stream: string,
  token: string,
): Promise<{ client: RawRtmpClient; status: string }> {
  const client = await RawRtmpClient.open(server.rtmpPort);
  await client.handshake();
  client.connectApp(stream.split('/')[0]!);
  client.publish(`${stream.split('/')[1]}?token=${token}`);
  const status = await client.waitForStatus(() => true);
  return {
    client,
    status: status?.level === 'error' ? status.description.split(':')[0]! : status!.code,
  };
}

describe('single-use publish tokens', () => {
  it("the publisher page's preliminary check does not use the token up; the WebSocket publish does", async () => {
    const token = await publishToken('live/page', 'page-1');
    const check = await fetch(`http://127.0.0.1:${server.httpPort}/ws/live/page?token=${token}`);
    expect(check.status).toBe(200);
    expect(
      (await fetch(`http://127.0.0.1:${server.httpPort}/ws/live/page?token=${token}`)).status,
    ).toBe(200);
    const first = await openPublisher(wsUrl('live/page', token));
    expect(first.ws).toBeDefined();
    first.ws!.close();
    await first.closed;
    await eventually(() => (server.stagedoor.hub.list().length === 0 ? true : undefined), 5000, 50);
    const again = await openPublisher(wsUrl('live/page', token));
    expect(again.outcome.refusedBody?.error.code).toBe('TOKEN_REUSED');
  });

  it('a token refused STREAM_BUSY is not used up: it publishes once the stream is free', async () => {
    const holder = await rtmpPublish('live/busy', await publishToken('live/busy', 'holder-1'));
    expect(holder.status).toBe('NetStream.Publish.Start');
    const waiting = await publishToken('live/busy', 'waiting-1');
    const refused = await rtmpPublish('live/busy', waiting);
    expect(refused.status).toBe('STREAM_BUSY');
    refused.client.destroy();
    const wsRefused = await openPublisher(wsUrl('live/busy', waiting));
    expect(wsRefused.outcome.refusedBody?.error.code).toBe('STREAM_BUSY');
    holder.client.destroy();
    await eventually(() => (server.stagedoor.hub.list().length === 0 ? true : undefined), 5000, 50);
    const admitted = await rtmpPublish('live/busy', waiting);
    expect(admitted.status).toBe('NetStream.Publish.Start');
    admitted.client.destroy();
    await eventually(() => (server.stagedoor.hub.list().length === 0 ? true : undefined), 5000, 50);
    expect((await rtmpPublish('live/busy', waiting)).status).toBe('TOKEN_REUSED');
  });
});

describe('WebSocket token refresh', () => {
  it('an origin-bound token refreshes a publisher that came from that origin', async () => {
    const origin = 'https://studio.example';
    const bound = (jti: string) =>
      publishToken('live/origin', jti, { access: { allow: { origins: [origin] } } });
    const { ws, outcome, closed } = await openPublisher(wsUrl('live/origin', await bound('o-1')), {
      origin,
    });
    expect(ws).toBeDefined();
    ws!.send(JSON.stringify({ type: 'refresh', token: await bound('o-2') }));
    await eventually(
      () => (outcome.messages.some((m) => m.type === 'refreshed') ? true : undefined),
      5000,
      50,
    );
    expect(outcome.closeCode).toBeUndefined();
    // A token bound to another origin is refused, with its code.
    ws!.send(
      JSON.stringify({
        type: 'refresh',
        token: await publishToken('live/origin', 'o-3', {
          access: { allow: { origins: ['https://other.example'] } },
        }),
      }),
    );
    expect(await closed).toMatchObject({ closeCode: 4403, closeReason: 'ORIGIN_DENIED' });
  });
});
