import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { openPublisher } from '../helpers/ws-client.js';
import { eventually } from '../helpers/http.js';
import { sleep } from '../helpers/ffmpeg.js';
import { sign, nowSec, token } from '../helpers/tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'sd-policy-'));
const openssl = (...args: string[]) =>
  execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
// PKCS#1 private key (as older tooling writes it), its PKCS#8 twin, and both public forms.
openssl('genrsa', '-traditional', '-out', join(dir, 'pkcs1.pem'), '2048');
openssl(
  'pkcs8',
  '-topk8',
  '-nocrypt',
  '-in',
  join(dir, 'pkcs1.pem'),
  '-out',
  join(dir, 'pkcs8.pem'),
);
openssl(
  'rsa',
  '-in',
  join(dir, 'pkcs1.pem'),
  '-RSAPublicKey_out',
  '-out',
  join(dir, 'public-pkcs1.pem'),
);
openssl('rsa', '-in', join(dir, 'pkcs8.pem'), '-pubout', '-out', join(dir, 'public-spki.pem'));
const pkcs1 = readFileSync(join(dir, 'pkcs1.pem'), 'utf8');
const pkcs8 = readFileSync(join(dir, 'pkcs8.pem'), 'utf8');

let server: TestServer;
let stateDir: string;

function configWith(extra: Record<string, unknown> = {}) {
  const base = testConfig(undefined, {
    http: { host: '127.0.0.1', port: 0, trustedProxies: ['127.0.0.1'] },
    ...extra,
  });
  base.auth!.keys!.push(
    { kid: 'legacy', alg: 'RS256', publicKey: readFileSync(join(dir, 'public-pkcs1.pem'), 'utf8') },
    { kid: 'modern', alg: 'RS256', publicKeyFile: join(dir, 'public-spki.pem') },
  );
  return { ...base, stateDir };
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'sd-policy-state-'));
  server = await startServer(
    configWith({ streams: [{ match: 'lobby/*', play: 'open', publish: 'secured' }] }),
  );
  for (const stream of ['live/acl', 'lobby/hall', 'live/gone']) {
    mkdirSync(join(server.mediaDir, stream), { recursive: true });
    writeFileSync(join(server.mediaDir, stream, 'index.m3u8'), '#EXTM3U\n');
  }
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

async function rtmpStatus(
  stream: string,
  jwtValue: string,
  action: 'publish' | 'play' = 'publish',
) {
  const client = await RawRtmpClient.open(server.rtmpPort);
  await client.handshake();
  client.connectApp(stream.split('/')[0]!);
  const key = `${stream.split('/')[1]}?token=${jwtValue}`;
  if (action === 'publish') client.publish(key);
  else client.play(key);
  const status = await client.waitForStatus(
    (s) => s.level === 'error' || s.code.endsWith('.Start'),
  );
  return { client, status: status! };
}

async function hls(
  stream: string,
  jwtValue: string | undefined,
  headers: Record<string, string> = {},
) {
  const res = await fetch(server.hlsUrl(stream, jwtValue), { headers });
  return res.status === 200 ? 'ok' : ((await res.json()) as { error: { code: string } }).error.code;
}

describe('keys from jsonwebtoken and openssl', () => {
  it.each([
    ['PKCS#1 (genrsa -traditional)', pkcs1, 'legacy'],
    ['PKCS#8 (pkcs8 -topk8)', pkcs8, 'modern'],
  ])(
    'admits tokens signed with a %s key, for their own stream only',
    async (_name, privateKey, keyid) => {
      const stream = `jwt${keyid}`;
      const own = jwt.sign({ scope: 'publish' }, privateKey, {
        algorithm: 'RS256',
        keyid,
        expiresIn: '10m',
        subject: `live/${stream}`,
      });
      const admitted = await rtmpStatus(`live/${stream}`, own);
      expect(admitted.status.code).toBe('NetStream.Publish.Start');
      admitted.client.destroy();
      const refused = await rtmpStatus('live/not-mine', own);
      expect(refused.status.description).toMatch(/^STREAM_DENIED/);
      refused.client.destroy();
    },
  );
});

describe('access rules in the token', () => {
  const withRules = (allow: Record<string, string[]>) =>
    sign({ sub: 'live/acl', scope: 'play', exp: nowSec() + 300, access: { allow } }, { kid: 'hs' });
  const via = (address: string, origin?: string) => ({
    'x-forwarded-for': address,
    ...(origin ? { origin } : {}),
  });

  it('IPv4, IPv6 and CIDR, with the address from a trusted proxy’s X-Forwarded-For', async () => {
    const v4 = await withRules({ ips: ['8.8.8.0/24'] });
    expect(await hls('live/acl', v4, via('8.8.8.8'))).toBe('ok');
    expect(await hls('live/acl', v4, via('9.9.9.9'))).toBe('IP_DENIED');
    const v6 = await withRules({ ips: ['2001:4860::/32', '198.51.100.1'] });
    expect(await hls('live/acl', v6, via('2001:4860:4860::8888'))).toBe('ok');
    expect(await hls('live/acl', v6, via('198.51.100.1'))).toBe('ok');
    expect(await hls('live/acl', v6, via('2001:db8::1'))).toBe('IP_DENIED');
  });

  it('origin (Origin, else Referer) and country (geoip-country), failing closed', async () => {
    const origin = await withRules({ origins: ['https://watch.example'] });
    expect(await hls('live/acl', origin, via('8.8.8.8', 'https://watch.example'))).toBe('ok');
    expect(
      await hls('live/acl', origin, {
        'x-forwarded-for': '8.8.8.8',
        referer: 'https://watch.example/live',
      }),
    ).toBe('ok');
    expect(await hls('live/acl', origin, via('8.8.8.8', 'https://evil.example'))).toBe(
      'ORIGIN_DENIED',
    );
    expect(await hls('live/acl', origin, via('8.8.8.8'))).toBe('ORIGIN_DENIED');
    const country = await withRules({ countries: ['us', 'de'] });
    expect(await hls('live/acl', country, via('8.8.8.8'))).toBe('ok');
    expect(await hls('live/acl', country, via('81.2.69.142'))).toBe('COUNTRY_DENIED');
    expect(await hls('live/acl', country, via('10.1.2.3'))).toBe('COUNTRY_DENIED');
  });

  it('combinations: every kind must pass, one entry per kind suffices', async () => {
    const all = await withRules({
      ips: ['8.8.8.0/24', '81.2.69.0/24'],
      origins: ['https://watch.example'],
      countries: ['gb'],
    });
    expect(await hls('live/acl', all, via('81.2.69.142', 'https://watch.example'))).toBe('ok');
    expect(await hls('live/acl', all, via('8.8.8.8', 'https://watch.example'))).toBe(
      'COUNTRY_DENIED',
    );
    expect(await hls('live/acl', all, via('81.2.69.142', 'https://other.example'))).toBe(
      'ORIGIN_DENIED',
    );
    expect(await hls('live/acl', all, via('1.1.1.1', 'https://watch.example'))).toBe('IP_DENIED');
  });

  it('X-Forwarded-For from an untrusted peer is ignored', async () => {
    const untrusting = await startServer(testConfig());
    try {
      mkdirSync(join(untrusting.mediaDir, 'live', 'acl'), { recursive: true });
      writeFileSync(join(untrusting.mediaDir, 'live', 'acl', 'index.m3u8'), '#EXTM3U\n');
      const res = await fetch(
        untrusting.hlsUrl('live/acl', await withRules({ ips: ['8.8.8.8'] })),
        { headers: via('8.8.8.8') },
      );
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('IP_DENIED');
    } finally {
      await untrusting.stop();
    }
  });

  it('applies to WebSocket origins and fails closed on RTMP, which has no Origin', async () => {
    const publishRules = await sign(
      {
        sub: 'live/acl',
        scope: 'publish',
        exp: nowSec() + 300,
        access: { allow: { origins: ['https://studio.example'] } },
      },
      { kid: 'hs' },
    );
    const url = `ws://127.0.0.1:${server.httpPort}/ws/live/acl?token=${publishRules}`;
    expect(
      (await openPublisher(url, { origin: 'https://elsewhere.example' })).outcome.refusedBody?.error
        .code,
    ).toBe('ORIGIN_DENIED');
    const ok = await openPublisher(url, { origin: 'https://studio.example' });
    expect(ok.ws).toBeDefined();
    ok.ws!.close();
    await sleep(200);
    const rtmp = await rtmpStatus('live/acl', publishRules);
    expect(rtmp.status.description).toMatch(/^ORIGIN_DENIED/);
    rtmp.client.destroy();
  });
});

describe('revocation', () => {
  it('revoking a sub cuts its RTMP publisher and HLS viewers at once, refuses reconnects, and survives a restart', async () => {
    const publishToken = await sign(
      { sub: 'live/gone', scope: 'publish play', exp: nowSec() + 300 },
      { kid: 'hs' },
    );
    const publisher = await rtmpStatus('live/gone', publishToken);
    expect(publisher.status.code).toBe('NetStream.Publish.Start');
    // The publisher's transcoder prepares a fresh directory; put a playlist in it once it has.
    await eventually(() => server.stagedoor.outputs!.get('live/gone'));
    await sleep(200);
    writeFileSync(join(server.mediaDir, 'live', 'gone', 'index.m3u8'), '#EXTM3U\n');
    expect(await hls('live/gone', publishToken)).toBe('ok');
    const viewer = server.stagedoor.registry
      .list()
      .find((s) => s.protocol === 'hls' && s.grant.subject === 'live/gone')!;
    expect(viewer).toBeDefined();
    const publisherSession = server.stagedoor.registry
      .list()
      .find((s) => s.protocol === 'rtmp' && s.grant.subject === 'live/gone')!;
    await server.stagedoor.revocations.add({ type: 'sub', value: 'live/gone', reason: 'test' });
    // Cut by the revocation itself (synchronously), not later by expiry or a timer.
    expect(publisherSession.endReason).toBe('revoked');
    expect(viewer.endReason).toBe('revoked');
    await publisher.client.closed;
    expect(await hls('live/gone', publishToken)).toBe('TOKEN_REVOKED');
    const again = await rtmpStatus('live/gone', publishToken);
    expect(again.status.description).toMatch(/^TOKEN_REVOKED/);
    again.client.destroy();

    // The denylist is persisted: a new Stagedoor on the same state directory still refuses.
    const restarted = await startServer({ ...configWith(), stateDir });
    try {
      const client = await RawRtmpClient.open(restarted.rtmpPort);
      await client.handshake();
      client.connectApp('live');
      client.publish(`gone?token=${publishToken}`);
      expect((await client.waitForStatus(() => true))!.description).toMatch(/^TOKEN_REVOKED/);
      // Another subject is unaffected.
      const other = await token('live/fine', 'publish');
      const ok = await RawRtmpClient.open(restarted.rtmpPort);
      await ok.handshake();
      ok.connectApp('live');
      ok.publish(`fine?token=${other}`);
      expect((await ok.waitForStatus(() => true))!.code).toBe('NetStream.Publish.Start');
      ok.destroy();
    } finally {
      await restarted.stop();
    }
  });
});

describe('per-stream security changed at run time', () => {
  it('an open stream plays without a token; securing it cuts token-less viewers at once', async () => {
    expect(await hls('lobby/hall', undefined)).toBe('ok');
    const rtmpViewer = await rtmpStatus('lobby/hall', '', 'play');
    expect(rtmpViewer.status.code).toBe('NetStream.Play.Start');
    const anonymous = server.stagedoor.registry
      .list()
      .filter((s) => s.stream.app === 'lobby' && s.grant.keySource === 'open-stream');
    expect(anonymous.map((s) => s.protocol).sort()).toEqual(['hls', 'rtmp']);
    const withToken = await token('lobby/hall', 'play');
    expect(await hls('lobby/hall', withToken)).toBe('ok');

    await server.stagedoor.security.set('lobby/*', { play: 'secured', publish: 'secured' });
    await rtmpViewer.client.closed;
    expect(anonymous.every((s) => s.endReason === 'security-changed')).toBe(true);
    expect(await hls('lobby/hall', undefined)).toBe('TOKEN_MISSING');
    expect(await hls('lobby/hall', withToken)).toBe('ok');
    // Persisted: a restart on the same state keeps the stream secured.
    const restarted = await startServer({
      ...configWith({ streams: [{ match: 'lobby/*', play: 'open', publish: 'secured' }] }),
      stateDir,
    });
    try {
      mkdirSync(join(restarted.mediaDir, 'lobby', 'hall'), { recursive: true });
      writeFileSync(join(restarted.mediaDir, 'lobby', 'hall', 'index.m3u8'), '#EXTM3U\n');
      expect((await fetch(restarted.hlsUrl('lobby/hall'))).status).toBe(401);
    } finally {
      await restarted.stop();
    }
  });

  it('stream keys, exp requirements and lifetimes apply to their streams only', async () => {
    const streamSecret = 'per-video-secret-per-video-secret-0123456789';
    await server.stagedoor.security.set('vod/episode1', {
      play: 'secured',
      publish: 'secured',
      maxTokenLifetimeSec: 600,
      keys: [{ kid: 'ep1', alg: 'HS256', secret: streamSecret }],
    });
    mkdirSync(join(server.mediaDir, 'vod', 'episode1'), { recursive: true });
    writeFileSync(join(server.mediaDir, 'vod', 'episode1', 'index.m3u8'), '#EXTM3U\n');
    mkdirSync(join(server.mediaDir, 'vod', 'episode2'), { recursive: true });
    writeFileSync(join(server.mediaDir, 'vod', 'episode2', 'index.m3u8'), '#EXTM3U\n');
    const key = new TextEncoder().encode(streamSecret);
    const { SignJWT } = await import('jose');
    const mk = (sub: string, ttl: number) =>
      new SignJWT({ scope: 'play' })
        .setProtectedHeader({ alg: 'HS256', kid: 'ep1' })
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime(nowSec() + ttl)
        .sign(key);
    expect(await hls('vod/episode1', await mk('vod/episode1', 300))).toBe('ok');
    expect(await hls('vod/episode1', await mk('vod/episode1', 3600))).toBe('CLAIM_INVALID');
    // The stream's key cannot open another stream, even with a matching sub.
    expect(await hls('vod/episode2', await mk('vod/episode2', 300))).toBe('STREAM_DENIED');
    await eventually(() =>
      server.stagedoor.security.list().some((r) => r.match === 'vod/episode1') ? true : undefined,
    );
  });
});
