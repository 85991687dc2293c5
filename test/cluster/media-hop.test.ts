// Any node serves any viewer: a stream published on node A is played through node B, which
// authorises the viewer itself and reads the media from A over A's internal listener (signed
// requests, one fetch per file however many viewers B has). The listener refuses anyone without
// the cluster's secret, a viewer's token included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { probe, publish, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { token } from '../helpers/tokens.js';
import { TestRedis } from '../helpers/redis-server.js';
import { parseMediaPlaylist } from '../helpers/hls-spec.js';
import { HopSigner } from '../../src/delivery/hop/hop-signature.js';
import { launchChromium } from '../helpers/browser.js';

const SECRET = 'cluster-secret-for-the-hop-test-0123456789';
let redis: TestRedis;
let a: TestServer;
let b: TestServer;
let publisher: RunningProcess;
let play: string;

const node = (nodeId: string) =>
  startServer(
    testConfig(undefined, {
      hls: { playlistSize: 8, segmentSec: 2 },
      cluster: {
        redis: { url: redis.url, keyPrefix: 'hop:' },
        nodeId,
        leaseTtlSec: 2,
        commandTimeoutSec: 0.5,
        internal: { host: '127.0.0.1', port: 0, secret: SECRET },
      },
    }),
  );

const internalUrl = (server: TestServer) =>
  server.logs.find((l) => l.event === 'internal_listening')!.url as string;
const onB = (file: string, query = '') => fetch(`${b.hlsUrl('live/hop', play, file)}${query}`);

beforeAll(async () => {
  redis = await TestRedis.start();
  a = await node('a');
  b = await node('b');
  publisher = publish(a.url('live/hop', await token('live/hop', 'publish', 600)), 120);
  play = await token('live/hop', 'play', 600);
  await eventually(
    async () => ((await onB('copy.m3u8')).status === 200 ? true : undefined),
    20_000,
  );
}, 40_000);

afterAll(async () => {
  publisher?.stop();
  await a?.stop();
  await b?.stop();
  await redis?.stop();
});

describe('a viewer on node B of a stream published on node A', () => {
  it('is served the LL-HLS playlist with its own passes, and ffprobe plays the stream through B', async () => {
    const res = await onB('copy.m3u8');
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('#EXT-X-PART:');
    for (const line of text.split('\n').filter((l) => /\.(m4s|mp4)/.test(l)))
      expect(line).toMatch(/vs=/);
    const probed = await probe(b.hlsUrl('live/hop', play));
    expect(probed.code).toBe(0);
    expect(probed.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    // B has no publisher and no packager of its own for this stream.
    expect(
      b.stagedoor.hub.get({ app: 'live', name: 'hop' })?.publisher ?? undefined,
    ).toBeUndefined();
  });

  it('plays through B in Chromium with hls.js in low-latency mode (parts and blocking reloads)', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${b.httpPort}/healthz`);
      await page.addScriptTag({ url: '/vendor/hls.min.js' });
      await page.evaluate(
        (src) => {
          const w = window as unknown as Record<string, unknown>;
          const video = document.createElement('video');
          video.muted = true;
          document.body.append(video);
          const Hls = w.Hls as new (config: object) => {
            loadSource(u: string): void;
            attachMedia(v: HTMLVideoElement): void;
            on(event: string, f: (e: string, d: { part?: unknown; fatal?: boolean }) => void): void;
          };
          const hls = new Hls({ lowLatencyMode: true });
          const stats = { parts: 0, video, fatal: [] as string[] };
          w.stats = stats;
          hls.on('hlsFragLoaded', (_e, data) => void (data.part && stats.parts++));
          hls.on('hlsError', (_e, data) => {
            if (data.fatal) stats.fatal.push(JSON.stringify(data).slice(0, 200));
          });
          hls.loadSource(src);
          hls.attachMedia(video);
          void video.play().catch(() => {});
        },
        b.hlsUrl('live/hop', play),
      );
      const seen = await eventually(async () => {
        const s = await page.evaluate(() => {
          const w = window as unknown as {
            stats: { parts: number; video: HTMLVideoElement; fatal: string[] };
          };
          return { time: w.stats.video.currentTime, parts: w.stats.parts, fatal: w.stats.fatal };
        });
        return s.time > 2 || s.fatal.length > 0 ? s : undefined;
      }, 40_000);
      expect(seen.fatal).toEqual([]);
      expect(seen.parts).toBeGreaterThan(0);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('answers a blocking reload held on B once A has the part', async () => {
    const text = await (await onB('copy.m3u8')).text();
    const parsed = parseMediaPlaylist(text);
    const last = parsed.segments.at(-1)!;
    // The next part after the newest one the playlist shows.
    const msn = parsed.mediaSequence + parsed.segments.length - 1;
    const next = last.uri ? { msn: msn + 1, part: 0 } : { msn, part: last.parts.length };
    const started = Date.now();
    const held = await onB('copy.m3u8', `&_HLS_msn=${next.msn}&_HLS_part=${next.part}`);
    expect(held.status).toBe(200);
    const answered = parseMediaPlaylist(await held.text());
    const newest = answered.mediaSequence + answered.segments.length - 1;
    expect(newest).toBeGreaterThanOrEqual(next.msn);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('costs A one fetch per file however many viewers B has (requests coalesced and cached)', async () => {
    const text = await (await onB('copy.m3u8')).text();
    const segment = parseMediaPlaylist(text).segments.find((s) => s.uri)!.uri!;
    const file = segment.split('?')[0]!;
    const url = `http://127.0.0.1:${b.httpPort}/live/hop/${segment}`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(url)));
    const sizes = await Promise.all(answers.map(async (r) => (await r.arrayBuffer()).byteLength));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(new Set(sizes).size).toBe(1);
    // However often B was asked for it (ffprobe above included), A was asked once.
    const asked = a.logs.filter((l) => l.event === 'hop_request' && String(l.url).includes(file));
    expect(asked.length).toBe(1);
  });

  it('is still authorised on B: no token, no media', async () => {
    const res = await fetch(`http://127.0.0.1:${b.httpPort}/live/hop/copy.m3u8`);
    expect(res.status).toBe(401);
  });
});

describe("node A's internal listener", () => {
  const path = '/internal/v1/media/live/hop/copy.m3u8';
  it('refuses a request without the cluster credential, with a wrong one, and with a viewer token', async () => {
    const url = `${internalUrl(a)}${path}`;
    const bare = await fetch(url);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { code: string } }).error.code).toBe(
      'NODE_CREDENTIAL_INVALID',
    );
    const wrong = await fetch(url, {
      headers: new HopSigner('another-secret-entirely-0123456789abcdef').sign('b', path),
    });
    expect(wrong.status).toBe(401);
    const viewer = await fetch(`${url}?token=${play}`, {
      headers: { authorization: `Bearer ${play}` },
    });
    expect(viewer.status).toBe(401);
    // A signature of another path does not open this one; a stale one does not either.
    const other = await fetch(url, { headers: new HopSigner(SECRET).sign('b', `${path}x`) });
    expect(other.status).toBe(401);
    const stale = await fetch(url, {
      headers: new HopSigner(SECRET, () => Date.now() - 60_000).sign('b', path),
    });
    expect(stale.status).toBe(401);
    const signed = await fetch(url, { headers: new HopSigner(SECRET).sign('b', path) });
    expect(signed.status).toBe(200);
  });
});
