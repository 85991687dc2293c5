// Issue #15 (2, 3, 4) and #10 (3): a viewer pass is only a shorthand for its token. Every request on a
// pass — playlist, segment, AES key — is answered as its token would be answered now: after a
// revocation, a key replacement or a stream being secured, no earlier pass fetches anything, even
// for a viewer that was idle when it happened; and the token's access rules hold on every request.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { eventually } from '../helpers/http.js';
import { openPublisher } from '../helpers/ws-client.js';
import { nowSec, sign } from '../helpers/tokens.js';

let server: TestServer;

const PLAYLIST =
  '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-KEY:METHOD=AES-128,URI="k0.key"\n#EXTINF:1.0,\nseg0.ts\n';

function stage(stream: string): void {
  const dir = join(server.mediaDir, stream);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.m3u8'), PLAYLIST);
  writeFileSync(join(dir, 'seg0.ts'), Buffer.alloc(5000, 0x47));
  writeFileSync(join(dir, 'k0.key'), Buffer.alloc(16, 7));
}

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, {
      http: { host: '127.0.0.1', port: 0, trustedProxies: ['127.0.0.1'] },
      hls: { viewerIdleSec: 0.3 },
      streams: [{ match: 'lobby/*', play: 'open', publish: 'secured' }],
    }),
  );
  for (const stream of ['live/p1', 'live/p2', 'live/p3', 'lobby/hall', 'live/acl', 'vod/ep1'])
    stage(stream);
});
afterAll(async () => {
  await server.stop();
});

const admin = (method: string, path: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${server.adminPort}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_API_KEY}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

/** Opens the playlist as a player would and returns the pass rewritten into it. */
async function openPlaylist(
  stream: string,
  token: string | undefined,
  headers: Record<string, string> = {},
): Promise<string> {
  const res = await fetch(server.hlsUrl(stream, token), { headers });
  expect(
    res.status,
    res.status === 200 ? '' : server.rawLog.filter((l) => l.includes('"level":50')).join('\n'),
  ).toBe(200);
  const pass = /seg0\.ts\?vs=([^\s]+)/.exec(await res.text())?.[1];
  expect(pass).toBeDefined();
  return decodeURIComponent(pass!);
}

/** What each file answers on that pass: 'ok' or the refusal's code. */
async function onPass(
  stream: string,
  pass: string,
  headers: Record<string, string> = {},
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const file of ['index.m3u8', 'seg0.ts', 'k0.key']) {
    const res = await fetch(
      `http://127.0.0.1:${server.httpPort}/${stream}/${file}?vs=${encodeURIComponent(pass)}`,
      { headers },
    );
    out[file] =
      res.status === 200
        ? 'ok'
        : `${res.status} ${((await res.json()) as { error: { code: string } }).error.code}`;
  }
  return out;
}
const all = (answer: string) => ({ 'index.m3u8': answer, 'seg0.ts': answer, 'k0.key': answer });

const viewerOf = (stream: string) =>
  server.stagedoor.registry
    .list()
    .find((s) => s.protocol === 'hls' && `${s.stream.app}/${s.stream.name}` === stream);
const untilIdle = (stream: string) =>
  eventually(() => (viewerOf(stream) === undefined ? true : undefined), 5000, 50);

describe('a pass answers as its token would now', () => {
  it('a viewer idle when its jti is revoked is refused on its pass, and never reopens a session', async () => {
    const token = await sign(
      { sub: 'live/p1', scope: 'play', jti: 'viewer-j1', exp: nowSec() + 300 },
      { kid: 'hs' },
    );
    const pass = await openPlaylist('live/p1', token);
    expect(await onPass('live/p1', pass)).toEqual(all('ok'));
    await untilIdle('live/p1');
    expect(
      (await admin('POST', '/api/v1/revocations', { type: 'jti', value: 'viewer-j1' })).status,
    ).toBe(201);
    expect(await onPass('live/p1', pass)).toEqual(all('401 TOKEN_REVOKED'));
    expect(viewerOf('live/p1')).toBeUndefined();
  });

  it('a viewer idle when its sub is revoked is refused too; a playing one is cut at once', async () => {
    const idle = await openPlaylist(
      'live/p2',
      await sign({ sub: 'live/p2', scope: 'play', exp: nowSec() + 300 }, { kid: 'hs' }),
    );
    await untilIdle('live/p2');
    const playing = await openPlaylist(
      'live/p3',
      await sign({ sub: 'live/p3', scope: 'play', exp: nowSec() + 300 }, { kid: 'hs' }),
    );
    const session = viewerOf('live/p3')!;
    expect(
      (await admin('POST', '/api/v1/revocations', { type: 'sub', value: 'live/p2' })).status,
    ).toBe(201);
    expect(
      (await admin('POST', '/api/v1/revocations', { type: 'sub', value: 'live/p3' })).status,
    ).toBe(201);
    expect(session.endReason).toBe('revoked');
    expect(await onPass('live/p2', idle)).toEqual(all('401 TOKEN_REVOKED'));
    expect(await onPass('live/p3', playing)).toEqual(all('401 TOKEN_REVOKED'));
  });

  it('securing an open stream stops anonymous passes at once: playlist, segment and AES key', async () => {
    const anonymous = await openPlaylist('lobby/hall', undefined);
    expect(await onPass('lobby/hall', anonymous)).toEqual(all('ok'));
    const idleAnonymous = await openPlaylist('lobby/hall', undefined, {
      'x-forwarded-for': '198.51.100.9',
    });
    const session = viewerOf('lobby/hall')!;
    expect(
      (await admin('PUT', '/api/v1/streams/lobby/hall/security', { play: 'secured' })).status,
    ).toBe(200);
    expect(session.endReason).toBe('security-changed');
    for (const pass of [anonymous, idleAnonymous]) {
      const answers = Object.values(await onPass('lobby/hall', pass));
      expect(answers.every((a) => a.startsWith('401 '))).toBe(true);
    }
    expect(viewerOf('lobby/hall')).toBeUndefined();
    // A token still plays it.
    expect(
      await onPass(
        'lobby/hall',
        await openPlaylist(
          'lobby/hall',
          await sign({ sub: 'lobby/hall', scope: 'play', exp: nowSec() + 300 }, { kid: 'hs' }),
        ),
      ),
    ).toEqual(all('ok'));
  });

  it("holds a pass to its token's address and origin rules on every request", async () => {
    const token = await sign(
      {
        sub: 'live/acl',
        scope: 'play',
        exp: nowSec() + 300,
        access: { allow: { ips: ['8.8.8.0/24'], origins: ['https://watch.example'] } },
      },
      { kid: 'hs' },
    );
    const good = { 'x-forwarded-for': '8.8.8.8', origin: 'https://watch.example' };
    const pass = await openPlaylist('live/acl', token, good);
    expect(await onPass('live/acl', pass, good)).toEqual(all('ok'));
    expect(await onPass('live/acl', pass, { ...good, 'x-forwarded-for': '9.9.9.9' })).toEqual(
      all('403 IP_DENIED'),
    );
    expect(await onPass('live/acl', pass, { ...good, origin: 'https://evil.example' })).toEqual(
      all('403 ORIGIN_DENIED'),
    );
    expect(await onPass('live/acl', pass, { 'x-forwarded-for': '8.8.8.8' })).toEqual(
      all('403 ORIGIN_DENIED'),
    );
  });

  it('replacing a stream key refuses its tokens and passes at once and cuts its live sessions of every protocol', async () => {
    const oldSecret = 'old-per-stream-secret-0123456789abcdef';
    const newSecret = 'new-per-stream-secret-0123456789abcdef';
    const first = await admin('PUT', '/api/v1/streams/vod/ep1/security', {
      keys: [{ kid: 'ep1-old', alg: 'HS256', secret: oldSecret }],
    });
    expect(first.status, await first.clone().text()).toBe(200);
    const oldKey = new TextEncoder().encode(oldSecret);
    const playToken = await sign(
      { sub: 'vod/ep1', scope: 'play', exp: nowSec() + 300 },
      { kid: 'ep1-old' },
      oldKey,
    );
    const publishToken = await sign(
      { sub: 'vod/ep1', scope: 'publish', exp: nowSec() + 300 },
      { kid: 'ep1-old' },
      oldKey,
    );
    const pass = await openPlaylist('vod/ep1', playToken);
    const idlePass = await openPlaylist('vod/ep1', playToken, {
      'x-forwarded-for': '198.51.100.10',
    });
    const publisher = await RawRtmpClient.open(server.rtmpPort);
    await publisher.handshake();
    publisher.connectApp('vod');
    publisher.publish(`ep1?token=${publishToken}`);
    expect((await publisher.waitForStatus(() => true))?.code).toBe('NetStream.Publish.Start');
    const hlsViewer = viewerOf('vod/ep1')!;

    const second = await admin('PUT', '/api/v1/streams/vod/ep1/security', {
      keys: [{ kid: 'ep1-new', alg: 'HS256', secret: newSecret }],
    });
    expect(second.status, await second.clone().text()).toBe(200);
    await publisher.closed;
    expect(hlsViewer.endReason).toBe('key-retired');
    const ends = server.logs
      .filter((l) => l.event === 'session_end' && l.stream === 'vod/ep1')
      .map((l) => `${l.kind}:${l.reason}`);
    expect(ends).toEqual(expect.arrayContaining(['publisher:key-retired', 'viewer:key-retired']));
    expect(await onPass('vod/ep1', pass)).toEqual(all('401 KEY_UNKNOWN'));
    expect(await onPass('vod/ep1', idlePass)).toEqual(all('401 KEY_UNKNOWN'));
    const again = await fetch(server.hlsUrl('vod/ep1', playToken));
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('KEY_UNKNOWN');
    // Counted like revocations.
    const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/stagedoor_session_ends_total\{[^}]*reason="key-retired"[^}]*\} [1-9]/);
    // The new key plays (the publisher's transcoder had started the stream's directory afresh).
    stage('vod/ep1');
    const fresh = await sign(
      { sub: 'vod/ep1', scope: 'play', exp: nowSec() + 300 },
      { kid: 'ep1-new' },
      new TextEncoder().encode(newSecret),
    );
    expect(await onPass('vod/ep1', await openPlaylist('vod/ep1', fresh))).toEqual(all('ok'));
  });

  it('removing a stream key closes its WebSocket publisher with 4401 KEY_UNKNOWN', async () => {
    const secret = 'ws-per-stream-secret-0123456789abcdef';
    expect(
      (
        await admin('PUT', '/api/v1/streams/vod/ws1/security', {
          keys: [{ kid: 'ws1', alg: 'HS256', secret }],
        })
      ).status,
    ).toBe(200);
    const publishToken = await sign(
      { sub: 'vod/ws1', scope: 'publish', exp: nowSec() + 300 },
      { kid: 'ws1' },
      new TextEncoder().encode(secret),
    );
    const { ws, closed } = await openPublisher(
      `ws://127.0.0.1:${server.httpPort}/ws/vod/ws1?token=${publishToken}`,
    );
    expect(ws).toBeDefined();
    expect((await admin('PUT', '/api/v1/streams/vod/ws1/security', { keys: [] })).status).toBe(200);
    expect(await closed).toMatchObject({ closeCode: 4401, closeReason: 'KEY_UNKNOWN' });
  });
});
