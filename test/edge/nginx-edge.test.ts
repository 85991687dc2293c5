// Viewers through the repo's nginx edge (deploy/nginx-edge: Debian nginx + njs) in front of a real
// Stagedoor: playback works (ffprobe, hls.js in Chromium); each segment is fetched from the origin
// once and then served from the edge's cache to every viewer whose segment pass the edge verifies
// alone; forged, other-stream and expired passes are refused at the edge; playlists and keys always
// go to the origin, so a revoked or expired viewer is refused at its next reload, and its segment
// passes run out within their short life.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { probe, publish, sleep, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { llHlsViolations, parseMediaPlaylist } from '../helpers/hls-spec.js';
import { launchChromium } from '../helpers/browser.js';
import { nowSec, sign, token } from '../helpers/tokens.js';
import { render, startEdge, type Edge } from '../helpers/nginx-edge.js';
import { parseConfig } from '../../src/config/load-config.js';

const EDGE_KEY = { kid: 'ek1', secret: 'edge-test-secret-0123456789abcdefghij' };
const STUDIO = 'https://studio.example';
const SEGMENT_PASS_SEC = 4;
let server: TestServer;
let edge: Edge;
let publisher: RunningProcess;

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, {
      http: { trustedProxies: ['127.0.0.1'], corsOrigins: [STUDIO] },
      hls: {
        segmentSec: 1,
        renditions: [{ name: 'copy', copy: true }],
        passes: { edgeKeys: [EDGE_KEY], segmentPassSec: SEGMENT_PASS_SEC },
      },
    }),
  );
  edge = await startEdge({
    originPort: server.httpPort,
    edgeKeys: [EDGE_KEY],
    corsOrigins: [STUDIO],
  });
  publisher = publish(server.url('live/cam1', await token('live/cam1', 'publish', 600)), 300);
  const probeToken = await token('live/cam1', 'play');
  await eventually(
    async () =>
      (await fetch(edge.url(`/live/cam1/index.m3u8?token=${probeToken}`))).status === 200
        ? true
        : undefined,
    30_000,
  );
  await sleep(3000);
}, 60_000);

afterAll(async () => {
  publisher?.stop();
  await edge?.stop();
  await server?.stop();
});

/** Segments the origin served (not refused): what the edge asked it for. */
async function originSegments(): Promise<number> {
  const metric = await server.stagedoor.metrics.hlsRequests.get();
  return metric.values
    .filter((v) => v.labels.kind === 'segment' && v.labels.status === '200')
    .reduce((n, v) => n + v.value, 0);
}

/** A viewer through the edge: its media playlist, and the URL of the newest segment in it. */
async function viewer(playToken: string) {
  const master = await (await fetch(edge.url(`/live/cam1/index.m3u8?token=${playToken}`))).text();
  const variant = master.split('\n').find((l) => l.startsWith('copy.m3u8?vs='))!;
  const playlistUrl = edge.url(`/live/cam1/${variant}`);
  const media = await (await fetch(playlistUrl)).text();
  const segment = media
    .split('\n')
    .filter((l) => /^copy_s?\d+\.(ts|m4s)\?vs=/.test(l))
    .at(-1)!;
  return { playlistUrl, segmentUrl: edge.url(`/live/cam1/${segment}`), media };
}

const codeOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error;

describe('the nginx edge', () => {
  it('serves each segment from the origin once, then from its cache to every viewer with a valid pass', async () => {
    const viewers = await Promise.all(
      [1, 2, 3, 4, 5].map(async (i) =>
        viewer(
          await sign(
            { sub: 'live/cam1', scope: 'play', jti: `edge-v${i}`, exp: nowSec() + 600 },
            { kid: 'hs' },
          ),
        ),
      ),
    );
    // Every viewer got its own passes for the same newest segment (or a neighbour): take one name.
    const name = new URL(viewers[0]!.segmentUrl).pathname;
    const urls = viewers.map((v) => {
      const pass = new URL(v.segmentUrl).searchParams.get('vs')!;
      return edge.url(`${name}?vs=${pass}`);
    });
    expect(new Set(urls).size).toBe(5);
    const before = await originSegments();
    const first = await fetch(urls[0]!);
    expect(first.status, edge.errors()).toBe(200);
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    const bytes = Buffer.from(await first.arrayBuffer());
    const rest = await Promise.all(urls.slice(1).map((u) => fetch(u)));
    for (const res of rest) {
      expect(res.status).toBe(200);
      expect(res.headers.get('x-cache-status')).toBe('HIT');
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
      // Browsers and caches that do not check passes are told it is private.
      expect(res.headers.get('cache-control')).toContain('private');
    }
    expect((await originSegments()) - before).toBe(1);
  });

  it('plays through the edge: ffprobe, and hls.js in Chromium', async () => {
    const playToken = await token('live/cam1', 'play', 600);
    const probed = await probe(edge.url(`/live/cam1/index.m3u8?token=${playToken}`), 20);
    expect(probed.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(edge.url(`/player.html#stream=live/cam1&token=${playToken}`));
      const time = () =>
        page.evaluate(() => (document.getElementById('video') as HTMLVideoElement).currentTime);
      const start = await eventually(
        async () => ((await time()) > 0.5 ? time() : undefined),
        30_000,
      );
      await sleep(3000);
      expect(await time()).toBeGreaterThan(start + 1.5);
    } finally {
      await browser?.close();
    }
  });

  it('refuses forged, other-stream and expired passes itself, without asking the origin', async () => {
    const { segmentUrl } = await viewer(await token('live/cam1', 'play', 600));
    const url = new URL(segmentUrl);
    const pass = url.searchParams.get('vs')!;
    expect((await fetch(segmentUrl)).status).toBe(200);
    const before = await originSegments();
    const forgedPass = pass.slice(0, -1) + (pass.endsWith('A') ? 'B' : 'A');
    const forged = await fetch(edge.url(`${url.pathname}?vs=${forgedPass}`));
    expect(forged.status).toBe(401);
    expect(await codeOf(forged)).toMatchObject({ code: 'SESSION_ENDED' });
    const other = await fetch(
      edge.url(`${url.pathname.replace('/live/cam1/', '/live/cam2/')}?vs=${pass}`),
    );
    expect(other.status).toBe(401);
    const none = await fetch(edge.url(url.pathname));
    expect(none.status).toBe(401);
    await sleep(SEGMENT_PASS_SEC * 1000 + 1000);
    const expired = await fetch(segmentUrl);
    expect(expired.status).toBe(401);
    expect((await codeOf(expired)).message).toContain('expired');
    expect(await originSegments()).toBe(before);
  });

  it('sends playlists to the origin: a revoked viewer is refused at its next reload, and its segment pass runs out', async () => {
    const playToken = await sign(
      { sub: 'live/cam1', scope: 'play', jti: 'edge-revoked', exp: nowSec() + 600 },
      { kid: 'hs' },
    );
    const { playlistUrl, segmentUrl } = await viewer(playToken);
    expect((await fetch(playlistUrl)).status).toBe(200);
    const revoke = await fetch(`http://127.0.0.1:${server.adminPort}/api/v1/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'jti', value: 'edge-revoked' }),
    });
    expect(revoke.status).toBe(201);
    const reload = await fetch(playlistUrl);
    expect(reload.status).toBe(401);
    expect(await codeOf(reload)).toMatchObject({ code: 'TOKEN_REVOKED' });
    // What the edge holds for it ends with the segment pass's short life.
    await sleep(SEGMENT_PASS_SEC * 1000 + 1000);
    expect((await fetch(segmentUrl)).status).toBe(401);
  });

  it('never lets a segment pass outlive its token', async () => {
    const exp = nowSec() + 2;
    const playToken = await sign({ sub: 'live/cam1', scope: 'play', exp }, { kid: 'hs' });
    const { playlistUrl, segmentUrl } = await viewer(playToken);
    expect(Number(new URL(segmentUrl).searchParams.get('vs')!.split('.')[1])).toBeLessThanOrEqual(
      exp,
    );
    await sleep((exp - Date.now() / 1000) * 1000 + 500);
    expect((await fetch(segmentUrl)).status).toBe(401);
    const reload = await fetch(playlistUrl);
    expect(reload.status).toBe(401);
    expect(await codeOf(reload)).toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('answers CORS for each request at the edge: a copy cached from a fetch without Origin still serves a browser of an allowed origin', async () => {
    const playToken = await token('live/cam1', 'play', 600);
    // A segment nobody fetched yet, fetched first without an Origin (as ffmpeg, VLC or an attacker).
    const plain = await eventually(async () => {
      const { segmentUrl } = await viewer(playToken);
      const res = await fetch(segmentUrl);
      await res.arrayBuffer();
      return res.headers.get('x-cache-status') === 'MISS' ? { segmentUrl, res } : undefined;
    }, 20_000);
    expect(plain.res.status).toBe(200);
    expect(plain.res.headers.get('access-control-allow-origin')).toBeNull();
    const browser = await fetch(plain.segmentUrl, { headers: { origin: STUDIO } });
    expect(browser.status).toBe(200);
    expect(browser.headers.get('x-cache-status')).toBe('HIT');
    expect(browser.headers.get('access-control-allow-origin')).toBe(STUDIO);
    expect(browser.headers.get('vary')).toBe('Origin');
    const other = await fetch(plain.segmentUrl, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('x-cache-status')).toBe('HIT');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    // The origin itself says its answers vary with Origin, with or without one (and a playlist's
    // with Accept-Encoding too: it is compressed for players that accept it).
    const direct = await fetch(
      `http://127.0.0.1:${server.httpPort}/live/cam1/index.m3u8?token=${playToken}`,
    );
    expect(direct.headers.get('vary')).toBe('Origin, Accept-Encoding');
    expect(direct.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses edge key secrets nginx would not read back as written ($, \\, ")', () => {
    const base = 'edge-test-secret-0123456789abcdefghij';
    for (const secret of [`${base}$host`, `${base}\\n`, `${base}"`]) {
      expect(() => render.renderEdgeKeys([{ kid: 'ek9', secret }])).toThrow(/ek9/);
      expect(() =>
        parseConfig({ hls: { passes: { edgeKeys: [{ kid: 'ek9', secret }] } } }),
      ).toThrow(/edgeKeys.*nginx/s);
    }
    // Every other printable character is written as it is.
    const odd = `${base}!#%&'()*+,-./:;<=>?@[]^_\`{|}~`;
    expect(render.renderEdgeKeys([{ kid: 'ek9', secret: odd }])).toContain(`ek9:${odd}"`);
    expect(() =>
      render.renderEdgeConfig({
        dir: '/x',
        origin: 'o:1',
        listen: '1',
        cache: '/c',
        corsOrigins: ['https://a.example/path'],
      }),
    ).toThrow(/cors origin/);
  });

  it('passes LL-HLS blocking reloads to the origin and serves each part from its cache', async () => {
    const first = await viewer(await token('live/cam1', 'play', 600));
    const second = await viewer(await token('live/cam1', 'play', 600));
    const parsed = parseMediaPlaylist(first.media);
    const edgeSegment = parsed.segments.at(-1)!;
    const msn = edgeSegment.uri ? edgeSegment.msn + 1 : edgeSegment.msn;
    const part = edgeSegment.uri ? 0 : edgeSegment.parts.length;
    // Held at the origin through the edge until the part exists, then answered.
    const blocked = await fetch(`${first.playlistUrl}&_HLS_msn=${msn}&_HLS_part=${part}`);
    expect(blocked.status).toBe(200);
    const text = await blocked.text();
    expect(llHlsViolations(text)).toEqual([]);
    const wanted = parseMediaPlaylist(text).segments.find((s) => s.msn === msn)!;
    expect(wanted.parts.length).toBeGreaterThan(part);
    // The same part for two viewers, each on its own pass: the origin is asked once.
    const partUri = wanted.parts[part]!.uri.split('?')[0]!;
    const passOf = (media: string) => /vs=([^"&\s]+)/.exec(media.split('.m4s?')[1] ?? '')![1];
    const secondMedia = await (await fetch(second.playlistUrl)).text();
    const before = await originSegments();
    const a = await fetch(edge.url(`/live/cam1/${partUri}?vs=${passOf(text)}`));
    const b = await fetch(edge.url(`/live/cam1/${partUri}?vs=${passOf(secondMedia)}`));
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.headers.get('x-cache-status')).toBe('HIT');
    expect(Buffer.from(await a.arrayBuffer())).toEqual(Buffer.from(await b.arrayBuffer()));
    expect((await originSegments()) - before).toBe(1);
  });
});
