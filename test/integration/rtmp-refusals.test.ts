import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish } from '../helpers/ffmpeg.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import {
  hsTokenWithSecret,
  nowSec,
  rsaPair,
  sign,
  token,
  unsignedToken,
} from '../helpers/tokens.js';
import type { ErrorCode } from '../../src/errors.js';

const rsa = rsaPair();
let server: TestServer;

beforeAll(async () => {
  server = await startServer(testConfig(rsa));
});
afterAll(async () => {
  await server.stop();
});

/** An admitted raw viewer waiting on the stream: it must never receive a byte of refused media. */
async function watcher(stream: string): Promise<RawRtmpClient> {
  const viewer = await RawRtmpClient.open(server.rtmpPort);
  await viewer.handshake();
  viewer.connectApp('live');
  viewer.play(`${stream}?token=${await token(`live/${stream}`, 'play')}`);
  expect(await viewer.waitForStatus((s) => s.code === 'NetStream.Play.Start')).toBeDefined();
  return viewer;
}

const claims = (sub: string, extra: Record<string, unknown> = {}) => ({
  sub,
  scope: 'publish',
  exp: nowSec() + 60,
  ...extra,
});

const cases: Array<{
  name: string;
  code: ErrorCode;
  token: (stream: string) => Promise<string | undefined>;
}> = [
  { name: 'missing token', code: 'TOKEN_MISSING', token: async () => undefined },
  { name: 'malformed token', code: 'TOKEN_MALFORMED', token: async () => 'not.a-jwt' },
  {
    name: 'bad signature',
    code: 'SIGNATURE_INVALID',
    token: async (s) =>
      sign(claims(`live/${s}`), { kid: 'hs' }, new TextEncoder().encode('x'.repeat(32))),
  },
  {
    name: 'unknown kid',
    code: 'KEY_UNKNOWN',
    token: async (s) => sign(claims(`live/${s}`), { kid: 'nobody' }),
  },
  {
    name: 'alg swapped: HS256 signed with the RSA public key',
    code: 'ALG_NOT_ALLOWED',
    token: async (s) => hsTokenWithSecret(claims(`live/${s}`), rsa.publicPem, { kid: 'rs' }),
  },
  {
    name: 'alg none',
    code: 'ALG_NOT_ALLOWED',
    token: async (s) => unsignedToken(claims(`live/${s}`)),
  },
  {
    name: 'expired',
    code: 'TOKEN_EXPIRED',
    token: async (s) => sign(claims(`live/${s}`, { exp: nowSec() - 5 }), { kid: 'hs' }),
  },
  {
    name: 'not yet valid',
    code: 'TOKEN_NOT_YET_VALID',
    token: async (s) => sign(claims(`live/${s}`, { nbf: nowSec() + 60 }), { kid: 'hs' }),
  },
  {
    name: 'sub names another stream',
    code: 'STREAM_DENIED',
    token: async () => sign(claims('live/someone-else'), { kid: 'hs' }),
  },
];

describe('RTMP publish refusals (real ffmpeg)', () => {
  it.each(cases)(
    '$name → $code, ffmpeg exits non-zero, no media reaches a viewer',
    async ({ code, token: makeToken }) => {
      const stream = `r${code.toLowerCase().replace(/_/g, '')}${Math.random().toString(36).slice(2, 6)}`;
      const viewer = await watcher(stream);
      const publisher = publish(server.url(`live/${stream}`, await makeToken(stream)));
      try {
        const exit = await publisher.exited;
        expect(exit.code).not.toBe(0);
        const refusal = await server.waitForLog(
          (l) => l.event === 'access_refused' && l.stream === `live/${stream}`,
        );
        expect(refusal.code).toBe(code);
        expect(publisher.stderr()).toContain(code);
        expect(viewer.mediaReceived).toBe(0);
        expect(
          server.stagedoor.hub.get({ app: 'live', name: stream })?.publisher ?? null,
        ).toBeNull();
      } finally {
        publisher.stop();
        viewer.destroy();
      }
    },
  );

  it('a hostile publisher that sends media without waiting for an answer gets no Publish.Start and reaches nobody', async () => {
    const viewer = await watcher('pipelined');
    const hostile = await RawRtmpClient.open(server.rtmpPort);
    await hostile.handshake();
    hostile.connectApp('live');
    hostile.publish('pipelined?token=forged');
    for (let i = 0; i < 20; i++) hostile.sendMedia(i * 33);
    const closed = await hostile.closed;
    expect(closed.at).toBeGreaterThan(0);
    expect(hostile.statuses.map((s) => s.code)).not.toContain('NetStream.Publish.Start');
    expect(hostile.statuses[0]).toMatchObject({ level: 'error', code: 'NetStream.Publish.Denied' });
    expect(hostile.statuses[0]!.description).toMatch(/^TOKEN_MALFORMED/);
    expect(viewer.mediaReceived).toBe(0);
    viewer.destroy();
  });

  it('two tokens or two keys in one stream key are refused TOKEN_MALFORMED, as on WebSocket', async () => {
    const good = await token('live/twice', 'publish');
    const other = await token('live/twice', 'publish', 120);
    for (const streamKey of [
      `twice?token=${good}&token=${other}`,
      `twice?token=forged&token=${good}`,
      `twice?jwt=${other}&token=${good}`,
      'twice?key=sk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&key=sk_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
      `twice?key=sk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&token=${good}`,
    ]) {
      const client = await RawRtmpClient.open(server.rtmpPort);
      await client.handshake();
      client.connectApp('live');
      client.publish(streamKey);
      const status = await client.waitForStatus((st) => st.code.startsWith('NetStream.Publish'));
      expect(status, streamKey).toMatchObject({ level: 'error', code: 'NetStream.Publish.Denied' });
      expect(status!.description).toMatch(/^TOKEN_MALFORMED/);
      await client.closed;
    }
    // One token in the stream key replaces one on the server URL (`rtmp://host/live?token=…`).
    const client = await RawRtmpClient.open(server.rtmpPort);
    await client.handshake();
    client.connectApp('live?token=forged');
    client.publish(`twice?token=${good}`);
    const status = await client.waitForStatus((st) => st.code.startsWith('NetStream.Publish'));
    expect(status?.code).toBe('NetStream.Publish.Start');
    client.destroy();
  });

  it('every refusal is in the log with its code and the token is not', () => {
    const refused = server.logs.filter((l) => l.event === 'access_refused').map((l) => l.code);
    for (const { code } of cases) expect(refused).toContain(code);
    expect(server.rawLog.join('\n')).not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./);
  });
});
