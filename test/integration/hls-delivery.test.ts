import { spawn } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish, probe, sleep, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually, rawGet } from '../helpers/http.js';
import { HS_SECRET, sign, token } from '../helpers/tokens.js';

let server: TestServer;
let publisher: RunningProcess;
let openPublisher: RunningProcess;
let playToken: string;

const fetchText = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
};

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, {
      hls: {
        // FFmpeg's own HLS files, read from disk (MPEG-TS, the media root): the packaged path
        // (CMAF from memory) has its own tests in ll-hls and encoded-packaging.
        packager: { enabled: false },
        renditions: [
          { name: 'copy', copy: true },
          { name: '180p', height: 180, videoBitrateKbps: 200, preset: 'ultrafast' },
        ],
        viewerIdleSec: 2,
        cleanupAfterSec: 1,
      },
      streams: [{ match: 'open/*', play: 'open', publish: 'secured' }],
      auth: {
        keys: [
          { kid: 'hs', alg: 'HS256', secret: HS_SECRET, actions: ['publish', 'play', 'admin'] },
          // `sub` names a person here, not a stream: streams come from scopes.
          {
            kid: 'people',
            alg: 'HS256',
            secret: HS_SECRET,
            actions: ['play'],
            subject: 'principal',
          },
        ],
      },
    }),
  );
  publisher = publish(
    server.url('live/cam1', await token('live/cam1', 'publish', 600)),
    120,
    '480x270',
  );
  openPublisher = publish(
    server.url('open/free', await token('open/free', 'publish', 600)),
    120,
    '320x180',
  );
  playToken = await token('live/cam1', 'play', 600);
  await eventually(
    async () =>
      (await fetch(server.hlsUrl('live/cam1', playToken))).status === 200 ? true : undefined,
    20_000,
  );
  await sleep(1500);
}, 40_000);

afterAll(async () => {
  publisher?.stop();
  openPublisher?.stop();
  await server.stop();
});

/** The master, a rendition playlist, a segment: the URLs a player follows, with their passes. */
async function urlsOf(master: string): Promise<{ variant: string; segment: string }> {
  const text = (await fetchText(master)).body;
  const variant = text.split('\n').find((l) => l.startsWith('copy.m3u8?vs='))!;
  const base = master.slice(0, master.lastIndexOf('/') + 1);
  const playlist = (await fetchText(base + variant)).body;
  const segment = playlist.split('\n').find((l) => /^copy_\d+\.ts\?vs=/.test(l))!;
  return { variant: base + variant, segment: base + segment };
}

describe('HLS delivery with tokens', () => {
  it('ffprobe reads the master URL with ?token= only and finds video and audio of every rendition', async () => {
    const result = await probe(server.hlsUrl('live/cam1', playToken), 20);
    expect(result.code).toBe(0);
    const widths = result.streams
      .filter((s) => s.codec_type === 'video')
      .map((s) => s.width)
      .sort();
    expect(widths).toEqual([320, 480]);
    expect(result.streams.filter((s) => s.codec_type === 'audio').map((s) => s.codec_name)).toEqual(
      ['aac', 'aac'],
    );
  });

  it('ffmpeg decodes 3 s of every rendition from the master URL', async () => {
    const child = spawn(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-i',
        server.hlsUrl('live/cam1', playToken),
        '-map',
        '0',
        '-t',
        '3',
        '-f',
        'null',
        '-',
      ],
      { stdio: 'ignore' },
    );
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
  });

  it('rewrites every URI with a viewer pass, never with the token', async () => {
    const master = await fetchText(server.hlsUrl('live/cam1', playToken));
    expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(master.headers.get('cache-control')).toBe('private, no-cache');
    expect(master.body).toMatch(/^copy\.m3u8\?vs=[\w-]+\.\d+\.[\w-]+$/m);
    expect(master.body).toMatch(/^180p\.m3u8\?vs=/m);
    expect(master.body).not.toContain(playToken);
  });

  it('serves segments with the right type, caching, CORS and byte ranges', async () => {
    const { segment } = await urlsOf(server.hlsUrl('live/cam1', playToken));
    const full = await fetch(segment, { headers: { origin: 'https://player.example' } });
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('video/mp2t');
    expect(full.headers.get('cache-control')).toBe('private, max-age=60');
    expect(full.headers.get('access-control-allow-origin')).toBe('*');
    const bytes = Buffer.from(await full.arrayBuffer());
    expect(bytes[0]).toBe(0x47); // MPEG-TS sync byte
    const part = await fetch(segment, { headers: { range: 'bytes=188-375' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 188-375/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(188, 376))).toBe(true);
    expect((await fetch(segment, { headers: { range: `bytes=${bytes.length}-` } })).status).toBe(
      416,
    );
    const preflight = await fetch(segment, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://player.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Authorization');
  });

  it('accepts the token as ?jwt=, Bearer and cookie too', async () => {
    const bare = server.hlsUrl('live/cam1');
    expect((await fetch(`${bare}?jwt=${playToken}`)).status).toBe(200);
    expect((await fetch(bare, { headers: { authorization: `Bearer ${playToken}` } })).status).toBe(
      200,
    );
    expect(
      (await fetch(bare, { headers: { cookie: `stagedoor_token=${playToken}` } })).status,
    ).toBe(200);
  });

  it('refuses every URL kind without a token (401) and with a token for another stream (403)', async () => {
    const { variant, segment } = await urlsOf(server.hlsUrl('live/cam1', playToken));
    const strip = (url: string) => url.replace(/\?.*$/, '');
    for (const url of [server.hlsUrl('live/cam1'), strip(variant), strip(segment)]) {
      const res = await fetchText(url);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'TOKEN_MISSING' } });
    }
    const other = await token('live/other', 'play');
    for (const url of [server.hlsUrl('live/cam1'), strip(variant), strip(segment)]) {
      const res = await fetchText(`${url}?token=${other}`);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).error.code).toBe('STREAM_DENIED');
    }
    const forged = await fetchText(`${strip(segment)}?vs=AAAAAAAAAAAA.9999999999999.forged`);
    expect(forged.status).toBe(401);
    expect(JSON.parse(forged.body).error.code).toBe('SESSION_ENDED');
    // A pass works only for the stream it was issued for.
    const pass = new URL(segment).searchParams.get('vs')!;
    expect((await fetch(`${server.hlsUrl('open/free', undefined)}?vs=${pass}`)).status).toBe(401);
  });

  it('counts an HLS viewer as a session with the bytes it was served, and ends it when idle', async () => {
    const viewerToken = await sign(
      {
        sub: 'live/cam1',
        scope: 'play',
        exp: Math.floor(Date.now() / 1000) + 600,
        jti: 'idle-viewer',
      },
      { kid: 'hs' },
    );
    const { segment } = await urlsOf(server.hlsUrl('live/cam1', viewerToken));
    await fetch(segment).then((r) => r.arrayBuffer());
    const session = server.stagedoor.registry.list().find((s) => s.grant.jti === 'idle-viewer');
    expect(session).toMatchObject({ kind: 'viewer', protocol: 'hls' });
    expect(session!.bytesOut).toBeGreaterThan(1000);
    const end = await server.waitForLog(
      (l) => l.event === 'session_end' && l.jti === 'idle-viewer',
      8000,
    );
    expect(end.reason).toBe('idle');
    // An idle viewer that comes back with its pass carries on in a new session.
    expect((await fetch(segment)).status).toBe(200);
  });

  it('refuses the next request once the token has expired', async () => {
    const exp = Date.now() + 2500;
    const short = await sign(
      { sub: 'live/cam1', scope: 'play', exp: exp / 1000, jti: 'short-viewer' },
      { kid: 'hs' },
    );
    const { variant, segment } = await urlsOf(server.hlsUrl('live/cam1', short));
    expect((await fetch(variant)).status).toBe(200);
    await sleep(exp - Date.now() + 50);
    for (const url of [variant, segment, server.hlsUrl('live/cam1', short)]) {
      const res = await fetchText(url);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body).error.code).toBe('TOKEN_EXPIRED');
    }
    const end = await server.waitForLog(
      (l) => l.event === 'session_end' && l.jti === 'short-viewer',
    );
    expect(end.reason).toBe('expired');
  });

  it('a new token on the next request refreshes the viewer in place: same session, new expiry, played past the first exp', async () => {
    const exp = Date.now() + 2500;
    const first = await sign(
      { sub: 'live/cam1', scope: 'play', exp: exp / 1000, jti: 'refresh-1' },
      { kid: 'hs' },
    );
    const { variant } = await urlsOf(server.hlsUrl('live/cam1', first));
    const session = server.stagedoor.registry.list().find((s) => s.grant.jti === 'refresh-1')!;
    expect(session).toBeDefined();
    // The player swaps tokens: the next playlist request carries its pass and the new token.
    const second = await sign(
      { sub: 'live/cam1', scope: 'play', exp: (Date.now() + 60_000) / 1000, jti: 'refresh-2' },
      { kid: 'hs' },
    );
    const res = await fetchText(variant, { headers: { authorization: `Bearer ${second}` } });
    expect(res.status).toBe(200);
    expect(session.grant.jti).toBe('refresh-2');
    expect(
      server.stagedoor.registry.list().filter((s) => s.grant.jti?.startsWith('refresh-')),
    ).toEqual([session]);
    await server.waitForLog((l) => l.event === 'session_refreshed' && l.jti === 'refresh-2');
    // Past the first token's exp, polling as a player does, with only the pass from the refreshed playlist.
    const newVariant = variant.replace(
      /vs=[^&\n]+/,
      res.body
        .split('\n')
        .find((l) => l.includes('vs='))!
        .match(/vs=[^&\n]+/)![0],
    );
    while (Date.now() < exp + 500) {
      expect((await fetchText(newVariant)).status).toBe(200);
      await sleep(400);
    }
    expect(session.closed).toBe(false);
    expect(
      server.logs.some(
        (l) => l.event === 'session_end' && (l.jti === 'refresh-1' || l.jti === 'refresh-2'),
      ),
    ).toBe(false);
  });

  it('a refresh must keep the subject, and cannot revive a viewer whose token already expired', async () => {
    const exp = Date.now() + 1500;
    const first = await sign(
      { sub: 'live/cam1', scope: 'play', exp: exp / 1000, jti: 'norevive-1' },
      { kid: 'hs' },
    );
    const { variant } = await urlsOf(server.hlsUrl('live/cam1', first));
    const session = server.stagedoor.registry.list().find((s) => s.grant.jti === 'norevive-1')!;
    // Another subject is admitted, but as a viewer of its own.
    const other = await sign(
      {
        sub: 'someone-else',
        scope: 'play:live/*',
        exp: (Date.now() + 60_000) / 1000,
        jti: 'norevive-other',
      },
      { kid: 'people' },
    );
    expect(
      (await fetchText(variant, { headers: { authorization: `Bearer ${other}` } })).status,
    ).toBe(200);
    expect(session.grant.jti).toBe('norevive-1');
    await sleep(exp - Date.now() + 100);
    expect((await fetchText(variant)).status).toBe(401);
    const late = await sign(
      { sub: 'live/cam1', scope: 'play', exp: (Date.now() + 60_000) / 1000, jti: 'norevive-2' },
      { kid: 'hs' },
    );
    expect(
      (await fetchText(variant, { headers: { authorization: `Bearer ${late}` } })).status,
    ).toBe(200);
    expect(session.closed).toBe(true);
    expect(session.grant.jti).toBe('norevive-1');
    expect(
      server.stagedoor.registry.list().some((s) => s.grant.jti === 'norevive-2' && s !== session),
    ).toBe(true);
  });

  it('plays an open stream without a token, and still checks a token that is sent', async () => {
    await eventually(
      async () => ((await fetch(server.hlsUrl('open/free'))).status === 200 ? true : undefined),
      20_000,
    );
    expect((await fetch(`${server.hlsUrl('open/free')}?token=garbage`)).status).toBe(401);
    expect((await fetch(server.hlsUrl('live/cam1'))).status).toBe(401);
  });

  it('never serves a file outside the media root, whatever the path', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'sd-outside-'));
    writeFileSync(join(outside, 'secret.ts'), 'TOP-SECRET');
    symlinkSync(join(outside, 'secret.ts'), join(server.mediaDir, 'live', 'cam1', 'leak.ts'));
    const paths = [
      '/live/cam1/../../../../etc/passwd',
      '/live/cam1/..%2f..%2f..%2fetc%2fpasswd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/live/%2e%2e/cam1/index.m3u8',
      '//etc/passwd',
      '/live/cam1/%00.ts',
      '/live/cam1/..%5c..%5cetc%5cpasswd',
      '/live/cam1/leak.ts',
      `/live/cam1/leak.ts?token=${playToken}`,
      `/live/cam1/.keyinfo?token=${playToken}`,
      `/live/cam1/.stagedoor-stream?token=${playToken}`,
      `/etc/passwd/x.ts?token=${playToken}`,
    ];
    for (const path of paths) {
      const answer = await rawGet(server.httpPort, path);
      const status = Number(answer.slice(9, 12));
      expect([400, 401, 403, 404], path).toContain(status);
      expect(answer).not.toContain('root:');
      expect(answer).not.toContain('TOP-SECRET');
    }
  });
});
