// A node cut off from Redis while another node changes shared state: when the link comes back it
// must apply every change it missed (a revocation, a stream secured, an ingest key's token revoked),
// and while it may be out of date it refuses new admissions instead of deciding on a stale copy.
// Node B reaches a real redis-server through a TCP relay that the test cuts and restores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { TestRedis } from '../helpers/redis-server.js';
import { TcpRelay } from '../helpers/tcp-relay.js';
import { admin, publishOnceAdmitted, publishWith } from '../helpers/cluster-publish.js';
import { nowSec, sign } from '../helpers/tokens.js';

const ROUNDS = 20;
let redis: TestRedis;
let relay: TcpRelay;
let a: TestServer;
let b: TestServer;

const node = (nodeId: string, port: number) =>
  startServer(
    testConfig(undefined, {
      cluster: {
        redis: { url: `redis://127.0.0.1:${port}`, keyPrefix: 'part:' },
        nodeId,
        commandTimeoutSec: 0.5,
      },
    }),
  );

beforeAll(async () => {
  redis = await TestRedis.start();
  relay = await TcpRelay.start(redis.port);
  a = await node('a', redis.port);
  b = await node('b', relay.port);
}, 30_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await relay?.stop();
  await redis?.stop();
});

const publishToken = (stream: string, jti: string) =>
  sign({ sub: `live/${stream}`, scope: 'publish', jti, exp: nowSec() + 600 }, { kid: 'hs' });
const playToken = (stream: string, jti: string) =>
  sign({ sub: `live/${stream}`, scope: 'play', jti, exp: nowSec() + 600 }, { kid: 'hs' });

const hlsStatus = async (server: TestServer, stream: string, jwt: string) => {
  const response = await fetch(
    `http://127.0.0.1:${server.httpPort}/live/${stream}/index.m3u8?token=${jwt}`,
  );
  const body = (await response.json().catch(() => ({}))) as { error?: { code: string } };
  return { status: response.status, code: body.error?.code };
};

const post = (server: TestServer, path: string, body: unknown, method = 'POST') =>
  admin(server, path, { method, body: JSON.stringify(body) });

/** Resolves with the reason once node `server` ended the publisher of `live/<stream>`. */
const publisherEnd = (server: TestServer, stream: string) =>
  server
    .waitForLog(
      (l) => l.event === 'session_end' && l.stream === `live/${stream}` && l.kind === 'publisher',
      15_000,
    )
    .then((l) => l.reason);

describe('a node cut off from Redis', () => {
  it(`applies every change it missed once it is back, and refuses new admissions while it may be stale (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const revoked = `rev${round}`;
      const secured = `sec${round}`;
      const keyed = `key${round}`;

      // On node B: a publisher whose token will be revoked; a token-less publisher on a stream
      // opened on node A; a publisher with an ingest key exchanged on node A for a token to revoke.
      const tokenPublisher = await publishWith(
        b,
        `${revoked}?token=${await publishToken(revoked, `jti-${revoked}`)}`,
      );
      expect(tokenPublisher.status.code).toBe('NetStream.Publish.Start');
      expect(
        (await post(a, `/api/v1/streams/live/${secured}/security`, { publish: 'open' }, 'PUT'))
          .status,
      ).toBe(200);
      const openPublisher = await publishOnceAdmitted(b, secured);
      const exchanged = await fetch(`http://127.0.0.1:${a.httpPort}/ingest-keys/live/${keyed}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await publishToken(keyed, `jti-${keyed}`)}` },
      });
      expect(exchanged.status).toBe(201);
      const { streamKey } = (await exchanged.json()) as { streamKey: string };
      const keyPublisher = await publishOnceAdmitted(b, streamKey);
      const ends = [publisherEnd(b, revoked), publisherEnd(b, secured), publisherEnd(b, keyed)];

      // Cut node B off; node A changes what B's sessions depend on.
      const downs = b.logs.filter((l) => l.event === 'redis_down').length;
      relay.cut();
      await b.waitForLog(
        () => b.logs.filter((l) => l.event === 'redis_down').length > downs,
        10_000,
      );
      expect(
        (await post(a, '/api/v1/revocations', { type: 'jti', value: `jti-${revoked}` })).status,
      ).toBe(201);
      expect(
        (await post(a, `/api/v1/streams/live/${secured}/security`, { publish: 'secured' }, 'PUT'))
          .status,
      ).toBe(200);
      expect(
        (await post(a, '/api/v1/revocations', { type: 'jti', value: `jti-${keyed}` })).status,
      ).toBe(201);

      // Node B cannot know: a viewer with a token revoked meanwhile is not admitted, nor anyone new.
      expect(await hlsStatus(b, revoked, await playToken(revoked, `jti-${revoked}`))).toEqual({
        status: 503,
        code: 'CLUSTER_UNAVAILABLE',
      });
      // Its live sessions go on with what it has.
      expect(tokenPublisher.client.socket.destroyed).toBe(false);

      relay.restore();
      expect(await Promise.all(ends)).toEqual(['revoked', 'security-changed', 'revoked']);
      await Promise.all([tokenPublisher.client.closed, openPublisher.closed, keyPublisher.closed]);
      const listed = (await (await admin(b, '/api/v1/revocations')).json()) as {
        revocations: Array<{ value: string }>;
      };
      expect(listed.revocations.map((r) => r.value)).toEqual(
        expect.arrayContaining([`jti-${revoked}`, `jti-${keyed}`]),
      );
      expect(await hlsStatus(b, revoked, await playToken(revoked, `jti-${revoked}`))).toEqual({
        status: 401,
        code: 'TOKEN_REVOKED',
      });
      const again = await publishWith(b, secured);
      expect(again.status.level).toBe('error');
      again.client.destroy();
    }
  }, 240_000);
});
