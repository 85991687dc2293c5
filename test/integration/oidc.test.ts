import { keyPair } from '../helpers/keys.js';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { sleep } from '../helpers/ffmpeg.js';
import {
  RESOURCE,
  signingJwk,
  startProvider,
  type RunningProvider,
} from '../helpers/oidc-provider.js';

let server: TestServer;
let provider: RunningProvider;
let port: number;
const counter = { jwks: 0 };
const k1 = await signingJwk('k1');

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const { port: p } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  return p;
}

beforeAll(async () => {
  port = await freePort();
  provider = await startProvider(port, [k1], counter);
  server = await startServer(
    testConfig(undefined, {
      auth: {
        issuers: [
          { issuer: provider.issuer, audience: RESOURCE, allowHttp: true, jwksCooldownSec: 1 },
        ],
      },
    }),
  );
  // A playlist to request: admission is decided before the file is looked up.
  mkdirSync(join(server.mediaDir, 'live', 'view'), { recursive: true });
  writeFileSync(join(server.mediaDir, 'live', 'view', 'index.m3u8'), '#EXTM3U\n');
}, 30_000);

afterAll(async () => {
  await provider?.stop().catch(() => {});
  await server?.stop();
});

async function rtmpPublish(
  stream: string,
  jwt: string,
): Promise<{ code: string; description: string }> {
  const client = await RawRtmpClient.open(server.rtmpPort);
  await client.handshake();
  client.connectApp('live');
  client.publish(`${stream}?token=${jwt}`);
  const status = await client.waitForStatus(() => true);
  client.destroy();
  return status!;
}

const hls = async (jwt: string) => {
  const res = await fetch(server.hlsUrl('live/view', jwt));
  return {
    status: res.status,
    code:
      res.status === 200
        ? undefined
        : ((await res.json()) as { error: { code: string } }).error.code,
  };
};

describe('an OpenID provider (oidc-provider) as issuer', () => {
  it('admits an RTMP publish and an HLS play with its client-credentials JWT access tokens', async () => {
    const publish = await provider.token('publish:live/oidc');
    expect((await rtmpPublish('oidc', publish)).code).toBe('NetStream.Publish.Start');
    const start = await server.waitForLog(
      (l) => l.event === 'session_start' && l.stream === 'live/oidc',
    );
    expect(start).toMatchObject({ subject: 'cam-app', issuer: provider.issuer, kid: 'k1' });
    expect((await hls(await provider.token('play:live/*'))).status).toBe(200);
    // Scopes narrow: a play token cannot publish, a publish token for one stream not another.
    expect((await rtmpPublish('oidc', await provider.token('play'))).description).toMatch(
      /^SCOPE_DENIED/,
    );
    expect((await rtmpPublish('elsewhere', publish)).description).toMatch(/^STREAM_DENIED/);
  });

  it('admits tokens with a new kid after the provider rotates its key, without a restart', async () => {
    await provider.stop();
    const k2 = await signingJwk('k2');
    provider = await startProvider(port, [k2, k1], counter);
    const rotated = await provider.token('play:live/*');
    await sleep(1100); // past the refetch cooldown
    expect(await hls(rotated)).toEqual({ status: 200, code: undefined });
    expect(server.logs.some((l) => l.event === 'session_start' && l.kid === 'k2')).toBe(true);
  });

  it('at most a handful of JWKS fetches for 1,000 tokens with random kids', async () => {
    const before = counter.jwks;
    const { privateKey } = keyPair('rsa', { modulusLength: 2048 });
    const tokens = await Promise.all(
      Array.from({ length: 1000 }, () =>
        new SignJWT({ scope: 'play' })
          .setProtectedHeader({ alg: 'RS256', kid: randomBytes(8).toString('hex') })
          .setIssuer(provider.issuer)
          .setAudience(RESOURCE)
          .setSubject('x')
          .setExpirationTime('5m')
          .sign(privateKey),
      ),
    );
    const started = Date.now();
    const codes = new Set<string | undefined>();
    for (const jwt of tokens) codes.add((await hls(jwt)).code);
    expect([...codes]).toEqual(['KEY_UNKNOWN']);
    const fetches = counter.jwks - before;
    expect(fetches).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 1000) + 1);
    expect(fetches).toBeLessThanOrEqual(5);
  });

  it('with the provider down, known kids still work and unknown kids are KEY_UNKNOWN', async () => {
    const known = await provider.token('play:live/*');
    await provider.stop();
    await sleep(1100);
    expect((await hls(known)).status).toBe(200);
    const { privateKey } = keyPair('rsa', { modulusLength: 2048 });
    const stranger = await new SignJWT({ scope: 'play' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k3' })
      .setIssuer(provider.issuer)
      .setAudience(RESOURCE)
      .setSubject('x')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect(await hls(stranger)).toEqual({ status: 401, code: 'KEY_UNKNOWN' });
    // Wrong audience and a forged issuer are refused with their codes.
    const k1Key = (await import('node:crypto')).createPrivateKey({
      key: k1 as never,
      format: 'jwk',
    });
    const wrongAud = await new SignJWT({ scope: 'play' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(provider.issuer)
      .setAudience('urn:other')
      .setSubject('x')
      .setExpirationTime('5m')
      .sign(k1Key);
    expect(await hls(wrongAud)).toEqual({ status: 401, code: 'AUDIENCE_INVALID' });
  });

  it('grants nothing to its tokens without scope or permissions, unless the issuer names default scopes', async () => {
    provider = await startProvider(port, [k1], counter); // down since the test before
    const k1Key = (await import('node:crypto')).createPrivateKey({
      key: k1 as never,
      format: 'jwk',
    });
    const unscoped = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(provider.issuer)
      .setAudience(RESOURCE)
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(k1Key);
    expect(await hls(unscoped)).toEqual({ status: 403, code: 'SCOPE_DENIED' });
    expect((await rtmpPublish('board', unscoped)).description).toMatch(/^SCOPE_DENIED/);
    const withDefaults = await startServer(
      testConfig(undefined, {
        auth: {
          issuers: [
            {
              issuer: provider.issuer,
              audience: RESOURCE,
              allowHttp: true,
              jwksUri: `${provider.issuer}/jwks`,
              defaultScopes: ['play:live/view'],
            },
          ],
        },
      }),
    );
    try {
      mkdirSync(join(withDefaults.mediaDir, 'live', 'view'), { recursive: true });
      writeFileSync(join(withDefaults.mediaDir, 'live', 'view', 'index.m3u8'), '#EXTM3U\n');
      const res = await fetch(withDefaults.hlsUrl('live/view', unscoped));
      expect(res.status).toBe(200);
      const other = await fetch(withDefaults.hlsUrl('live/board', unscoped));
      expect(((await other.json()) as { error: { code: string } }).error.code).toBe(
        'STREAM_DENIED',
      );
    } finally {
      await withDefaults.stop();
    }
  });

  it('retires a key the provider dropped from its key set: its tokens are refused and its live sessions cut', async () => {
    const k1Key = (await import('node:crypto')).createPrivateKey({
      key: k1 as never,
      format: 'jwk',
    });
    const mint = (scope: string) =>
      new SignJWT({ scope })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(provider.issuer)
        .setAudience(RESOURCE)
        .setSubject('cam-app')
        .setExpirationTime('5m')
        .sign(k1Key);
    const publishK1 = await mint('publish:live/oidc');
    const client = await RawRtmpClient.open(server.rtmpPort);
    await client.handshake();
    client.connectApp('live');
    client.publish(`oidc?token=${publishK1}`);
    expect((await client.waitForStatus(() => true))?.code).toBe('NetStream.Publish.Start');
    const playK1 = await mint('play:live/*');
    expect(await hls(playK1)).toEqual({ status: 200, code: undefined });

    // The provider now publishes only a new key, k4 (a fetch that failed while it was down removed nothing).
    await provider.stop().catch(() => {});
    provider = await startProvider(port, [await signingJwk('k4')], counter);
    await sleep(1100); // past the refetch cooldown
    const k4Token = await provider.token('play:live/*');
    expect((await hls(k4Token)).status).toBe(200); // an unknown kid makes Stagedoor fetch the new set
    await client.closed;
    expect(
      server.logs.some(
        (l) =>
          l.event === 'session_end' &&
          l.stream === 'live/oidc' &&
          l.kind === 'publisher' &&
          l.reason === 'key-retired',
      ),
    ).toBe(true);
    expect(await hls(playK1)).toEqual({ status: 401, code: 'KEY_UNKNOWN' });
  });
});
