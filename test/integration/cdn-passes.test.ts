// Viewers through a CDN that checks its own signed-URL format: for each format Stagedoor writes
// (hls.passes.cdn), a real ffmpeg publishes, ffprobe and hls.js in Chromium (LL-HLS) play
// through a stand-in that verifies every segment, init and part request the way that CDN does, and
// passes playlists and keys to the origin. Tampered and other-stream URLs are refused at the
// stand-in; a revoked viewer is refused at its next playlist reload by the origin.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { probe, publish, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { nowSec, sign, token } from '../helpers/tokens.js';
import { startCdnStandIn, type CdnStandIn } from '../helpers/cdn-stand-in.js';
import {
  verifyAkamai,
  verifyBunny,
  verifyCloudFront,
  verifyCloudFrontCookies,
  verifyGoogle,
  verifyGoogleCookie,
  type Verdict,
} from '../helpers/cdn-verifiers.js';
import { launchChromium } from '../helpers/browser.js';
import type { CdnPassConfig } from '../../src/config/schema.js';

interface Format {
  name: string;
  publicBase: string;
  config: Record<string, unknown>;
  /** The URL as the CDN sees it, with the request's Cookie header. */
  verify: (url: URL, cookie: string | undefined, now: number) => Verdict;
  /** Where the CDN's signature travels: a query parameter, or a cookie (signed cookies). */
  signature: { query: string } | { cookie: string };
  /** More of `hls` for this format's server. */
  hls?: Record<string, unknown>;
}

const akamaiKey = randomBytes(32).toString('hex');
const cloudfront = generateKeyPairSync('rsa', { modulusLength: 2048 });
const googleKey = randomBytes(16).toString('base64url');
const bunnyKey = randomBytes(24).toString('hex');
const publicKeys: Record<string, KeyObject> = { K3CDNSTANDIN: cloudfront.publicKey };

const FORMATS: Format[] = [
  {
    name: 'akamai',
    signature: { query: 'hdnts' },
    publicBase: 'https://akamai.example.com',
    config: { format: 'akamai', key: akamaiKey },
    verify: (url, _cookie, now) => verifyAkamai(url, akamaiKey, now),
  },
  {
    name: 'cloudfront',
    signature: { query: 'Signature' },
    publicBase: 'https://d111111abcdef8.cloudfront.net',
    config: {
      format: 'cloudfront',
      keyPairId: 'K3CDNSTANDIN',
      privateKey: cloudfront.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      baseUrl: 'https://d111111abcdef8.cloudfront.net',
    },
    verify: (url, _cookie, now) => verifyCloudFront(url, publicKeys, now),
  },
  {
    name: 'google',
    signature: { query: 'Signature' },
    publicBase: 'https://media.example.com',
    config: {
      format: 'google',
      keyName: 'stand-in',
      key: googleKey,
      baseUrl: 'https://media.example.com',
    },
    verify: (url, _cookie, now) => verifyGoogle(url, { 'stand-in': googleKey }, now),
  },
  {
    name: 'bunny',
    signature: { query: 'token' },
    publicBase: 'https://zone.b-cdn.net',
    config: { format: 'bunny', key: bunnyKey },
    // One format with playlists sent as they are, the others compressed (the default).
    hls: { compressPlaylists: false },
    verify: (url, _cookie, now) => verifyBunny(url, bunnyKey, now),
  },
  // Signed cookies, set on the playlists the CDN passes from the origin; the URIs carry only `vs`.
  // Plain http here, so the cookies are not `Secure` (the stand-in is no HTTPS server).
  {
    name: 'cloudfront signed-cookie',
    signature: { cookie: 'CloudFront-Signature' },
    publicBase: 'http://d111111abcdef8.cloudfront.net',
    config: {
      format: 'cloudfront',
      keyPairId: 'K3CDNSTANDIN',
      privateKey: cloudfront.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      baseUrl: 'http://d111111abcdef8.cloudfront.net',
      delivery: 'cookie',
    },
    verify: (url, cookie, now) => verifyCloudFrontCookies(url, cookie, publicKeys, now),
  },
  {
    name: 'google signed-cookie',
    signature: { cookie: 'Cloud-CDN-Cookie' },
    publicBase: 'http://media.example.com',
    config: {
      format: 'google',
      keyName: 'stand-in',
      key: googleKey,
      baseUrl: 'http://media.example.com',
      delivery: 'cookie',
    },
    verify: (url, cookie, now) => verifyGoogleCookie(url, cookie, { 'stand-in': googleKey }, now),
  },
];

/** The Cookie header a client sends back after a response's Set-Cookie headers. */
function cookieJar(response: Response): string | undefined {
  const pairs = response.headers.getSetCookie().map((c) => c.slice(0, c.indexOf(';')));
  return pairs.length > 0 ? pairs.join('; ') : undefined;
}

/** One character of `value`, five from its end, changed. */
function tamper(value: string): string {
  const at = value.length - 5;
  return `${value.slice(0, at)}${value[at] === 'a' ? 'b' : 'a'}${value.slice(at + 1)}`;
}

describe.each(FORMATS)('a viewer through a CDN checking $name tokens', (format) => {
  let server: TestServer;
  let publisher: RunningProcess;
  let cdn: CdnStandIn;
  const viaCdn = (path: string, cookie?: string) =>
    fetch(`http://127.0.0.1:${cdn.port}${path}`, cookie ? { headers: { cookie } } : {});

  beforeAll(async () => {
    server = await startServer(
      testConfig(undefined, {
        hls: { segmentSec: 1, passes: { cdn: format.config as CdnPassConfig }, ...format.hls },
      }),
    );
    publisher = publish(server.url('live/cdn', await token('live/cdn', 'publish', 600)), 60);
    const play = await token('live/cdn', 'play', 600);
    await eventually(
      async () =>
        (await fetch(server.hlsUrl('live/cdn', play, 'copy.m3u8'))).status === 200
          ? true
          : undefined,
      20_000,
    );
    cdn = await startCdnStandIn(server.httpPort, format.publicBase, (url, cookie) =>
      format.verify(url, cookie, Date.now()),
    );
  }, 40_000);

  afterAll(async () => {
    publisher?.stop();
    await cdn?.stop();
    await server?.stop();
  });

  it('plays with ffprobe, every segment and part verified by the CDN', async () => {
    const play = await token('live/cdn', 'play', 600);
    const probed = await probe(`http://127.0.0.1:${cdn.port}/live/cdn/index.m3u8?token=${play}`);
    expect(probed.code).toBe(0);
    expect(probed.streams.map((s) => s.codec_name)).toContain('h264');
    expect(cdn.checked.length).toBeGreaterThan(0);
    expect(cdn.checked.filter((c) => c.verdict !== 'ok')).toEqual([]);
  }, 30_000);

  it('sends playlists through the CDN compressed when the player accepts it (hls.compressPlaylists)', async () => {
    const play = await token('live/cdn', 'play', 600);
    const url = `http://127.0.0.1:${cdn.port}/live/cdn/copy.m3u8?token=${play}`;
    const wire = (acceptEncoding: string) =>
      new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
        httpGet(url, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }),
          );
        }).on('error', reject);
      });
    const plain = await wire('identity');
    expect(plain.encoding).toBeUndefined();
    const packed = await wire('gzip');
    if (format.hls?.compressPlaylists === false) {
      expect(packed.encoding).toBeUndefined();
      return;
    }
    expect(packed.encoding).toBe('gzip');
    const text = gunzipSync(packed.body).toString();
    expect(text).toMatch(/^#EXTM3U/);
    // The same playlist (give or take a part and re-signed passes), in well under half the bytes.
    expect(Math.abs(text.length - plain.body.length)).toBeLessThan(plain.body.length / 4);
    expect(packed.body.length).toBeLessThan(text.length / 2);
  });

  it('refuses tampered and other-stream URLs at the CDN; a revoked viewer is refused at its next reload', async () => {
    const jti = `cdn-${format.name}-${randomBytes(4).toString('hex')}`;
    const play = await sign({ sub: 'live/cdn', scope: 'play', exp: nowSec() + 600, jti });
    const reloaded = await viaCdn(`/live/cdn/copy.m3u8?token=${play}`);
    const cookie = cookieJar(reloaded);
    const variant = await reloaded.text();
    const segment = variant.split('\n').find((l) => /\.(m4s|mp4)\?/.test(l) && !l.startsWith('#'))!;
    expect((await viaCdn(`/live/cdn/${segment}`, cookie)).status).toBe(200);
    // The CDN's signature changed by one character, and the same token on another stream.
    const url0 = new URL(`/live/cdn/${segment}`, format.publicBase);
    if ('query' in format.signature) {
      const name = format.signature.query;
      expect(cookie).toBeUndefined();
      url0.searchParams.set(name, tamper(url0.searchParams.get(name)!));
      const tampered = `${segment.split('?')[0]}${url0.search}`;
      expect((await viaCdn(`/live/cdn/${tampered}`)).status).toBe(403);
    } else {
      const name = format.signature.cookie;
      expect(segment).not.toContain(name);
      const [, value] = new RegExp(`${name}=([^;]+)`).exec(cookie ?? '') ?? [];
      expect(value).toBeDefined();
      expect(
        (await viaCdn(`/live/cdn/${segment}`, cookie!.replace(value!, tamper(value!)))).status,
      ).toBe(403);
      expect((await viaCdn(`/live/cdn/${segment}`)).status).toBe(403);
    }
    expect((await viaCdn(`/live/other/${segment}`, cookie)).status).toBe(403);
    // Past its window (the segment pass's, never past the token's exp) the CDN refuses it by itself.
    const url = new URL(`/live/cdn/${segment}`, format.publicBase);
    expect(format.verify(url, cookie, Date.now())).toBe('ok');
    expect(format.verify(url, cookie, Date.now() + 600_000)).toBe('expired');
    // Revoked: the viewer's next playlist reload, which the CDN passes to the origin, is refused.
    const added = await fetch(`http://127.0.0.1:${server.adminPort}/api/v1/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'jti', value: jti }),
    });
    expect(added.status).toBe(201);
    const reload = await viaCdn(`/live/cdn/copy.m3u8?token=${play}`);
    expect(reload.status).toBe(401);
  }, 30_000);
});

describe.each(FORMATS)('hls.js in Chromium through a CDN checking $name tokens', (format) => {
  it('plays LL-HLS, every part verified', async () => {
    const server = await startServer(
      testConfig(undefined, {
        hls: { segmentSec: 1, passes: { cdn: format.config as CdnPassConfig }, ...format.hls },
      }),
    );
    const publisher = publish(
      server.url('live/cdnjs', await token('live/cdnjs', 'publish', 600)),
      60,
    );
    const cdn = await startCdnStandIn(server.httpPort, format.publicBase, (url, cookie) =>
      format.verify(url, cookie, Date.now()),
    );
    const browser = await launchChromium();
    try {
      const play = await token('live/cdnjs', 'play', 600);
      await eventually(
        async () =>
          (await fetch(server.hlsUrl('live/cdnjs', play, 'copy.m3u8'))).status === 200
            ? true
            : undefined,
        20_000,
      );
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${cdn.port}/healthz`);
      await page.addScriptTag({ url: '/vendor/hls.min.js' });
      await page.evaluate((src) => {
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
      }, `http://127.0.0.1:${cdn.port}/live/cdnjs/index.m3u8?token=${play}`);
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
      expect(cdn.checked.some((c) => c.path.includes('part') || c.path.endsWith('.m4s'))).toBe(
        true,
      );
      expect(cdn.checked.filter((c) => c.verdict !== 'ok')).toEqual([]);
    } finally {
      await browser.close();
      publisher.stop();
      await cdn.stop();
      await server.stop();
    }
  }, 90_000);
});
