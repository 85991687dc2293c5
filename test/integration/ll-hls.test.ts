import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { probe, publish, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { token } from '../helpers/tokens.js';
import { launchChromium } from '../helpers/browser.js';
import { llHlsViolations, parseMediaPlaylist } from '../helpers/hls-spec.js';

// A passthrough RTMP stream (H.264 + AAC) packaged in-process: CMAF parts and segments in memory,
// an LL-HLS playlist with blocking reloads, every request authorised, no FFmpeg.

let server: TestServer;
let publisher: RunningProcess;
let play: string;
const work = mkdtempSync(join(tmpdir(), 'sd-llhls-'));

const base = () => `http://127.0.0.1:${server.httpPort}/live/ll/`;
const get = (uri: string, init?: RequestInit) => fetch(`${base()}${uri}`, init);
const bytes = async (uri: string) => Buffer.from(await (await get(uri)).arrayBuffer());
const media = async (query = '') => {
  const res = await fetch(`${server.hlsUrl('live/ll', play, 'copy.m3u8')}${query}`);
  return { status: res.status, text: await res.text() };
};
const admin = (path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${server.adminPort}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_API_KEY}` },
  });

/** Children of this test process that are FFmpeg making HLS (publishers are children too). */
const packagingFfmpegs = () =>
  readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return parent === process.pid && cmd.includes('pipe:0');
      } catch {
        return false;
      }
    });

beforeAll(async () => {
  server = await startServer(testConfig(undefined, { hls: { playlistSize: 8, segmentSec: 2 } }));
  publisher = publish(server.url('live/ll', await token('live/ll', 'publish', 600)), 120);
  play = await token('live/ll', 'play', 600);
  await eventually(async () => ((await media()).status === 200 ? true : undefined), 20_000);
}, 30_000);

afterAll(async () => {
  publisher?.stop();
  await server?.stop();
});

describe('a passthrough stream packaged in-process', () => {
  it('runs no FFmpeg and says so to operators', async () => {
    const output = server.stagedoor.outputs!.get('live/ll')!;
    expect(output.kind).toBe('packager');
    expect(output.process).toBeUndefined();
    expect(packagingFfmpegs()).toEqual([]);
    const streams = (await (await admin('/api/v1/streams')).json()) as {
      streams: Array<{ stream: string; transcoder?: { kind: string; pid?: number } }>;
    };
    const live = streams.streams.find((s) => s.stream === 'live/ll')!;
    expect(live.transcoder).toMatchObject({ kind: 'packager' });
    expect(live.transcoder?.pid).toBeUndefined();
  });

  it('serves an LL-HLS media playlist that keeps the spec, with a pass on every URI', async () => {
    // Several versions of it as the stream goes on: each one checked.
    for (let i = 0; i < 5; i++) {
      const { status, text } = await media();
      expect(status).toBe(200);
      expect(llHlsViolations(text)).toEqual([]);
      const parsed = parseMediaPlaylist(text);
      expect(parsed.segments.length).toBeGreaterThan(0);
      for (const line of text.split('\n').filter((l) => l.includes('.m4s') || l.includes('.mp4')))
        expect(line).toMatch(/vs=/);
      await new Promise((r) => setTimeout(r, 300));
    }
    const master = await (await fetch(server.hlsUrl('live/ll', play))).text();
    expect(master).toMatch(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    expect(master).toContain('RESOLUTION=640x360');
  });

  it('makes segments and parts ffprobe decodes: H.264 and AAC from the init segment on', async () => {
    const text = await eventually(async () => {
      const { text } = await media();
      return parseMediaPlaylist(text).segments.filter((s) => s.uri).length >= 2 ? text : undefined;
    }, 20_000);
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)![1]!;
    const parsed = parseMediaPlaylist(text);
    const [first, second] = parsed.segments.filter((s) => s.uri);
    const file = join(work, 'segments.mp4');
    writeFileSync(
      file,
      Buffer.concat([await bytes(map), await bytes(first!.uri!), await bytes(second!.uri!)]),
    );
    const probe = JSON.parse(
      execFileSync('ffprobe', [
        '-v',
        'error',
        '-count_frames',
        '-show_entries',
        'stream=codec_name,width,height,nb_read_frames',
        '-of',
        'json',
        file,
      ]).toString(),
    ) as { streams: Array<{ codec_name: string; width?: number; nb_read_frames: string }> };
    const video = probe.streams.find((s) => s.codec_name === 'h264')!;
    const audio = probe.streams.find((s) => s.codec_name === 'aac')!;
    expect(video.width).toBe(640);
    // 30 fps, two two-second segments; about 43 AAC frames a second.
    expect(Number(video.nb_read_frames)).toBeGreaterThanOrEqual(110);
    expect(Number(audio.nb_read_frames)).toBeGreaterThanOrEqual(160);
    // The parts of a segment are its bytes, in order: an independent part decodes after the init.
    const partsFile = join(work, 'parts.mp4');
    const independent = parsed.segments.flatMap((s) => s.parts).find((p) => p.independent)!;
    writeFileSync(partsFile, Buffer.concat([await bytes(map), await bytes(independent.uri)]));
    const frames = execFileSync('ffprobe', [
      '-v',
      'error',
      '-count_frames',
      '-select_streams',
      'v',
      '-show_entries',
      'stream=nb_read_frames',
      '-of',
      'csv=p=0',
      partsFile,
    ])
      .toString()
      .trim();
    expect(Number(frames)).toBeGreaterThanOrEqual(5);
  });

  it('answers a blocking reload once the part asked for exists', async () => {
    const before = parseMediaPlaylist((await media()).text);
    const edge = before.segments.at(-1)!;
    // The part after the newest one listed: it does not exist when asked for.
    const msn = edge.uri ? edge.msn + 1 : edge.msn;
    const part = edge.uri ? 0 : edge.parts.length;
    const { status, text } = await media(`&_HLS_msn=${msn}&_HLS_part=${part}`);
    expect(status).toBe(200);
    const after = parseMediaPlaylist(text);
    const target = after.segments.find((s) => s.msn === msn);
    expect(target, `segment ${msn} in\n${text}`).toBeDefined();
    expect(target!.parts.length).toBeGreaterThan(part);
    expect(llHlsViolations(text)).toEqual([]);
  });

  it('compresses playlists for players that accept Brotli or gzip, blocking reloads too', async () => {
    /** The bytes as they come over the wire (fetch would decode them). */
    const raw = (query: string, acceptEncoding?: string) =>
      new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const url = `${server.hlsUrl('live/ll', play, 'copy.m3u8')}${query}`;
        const headers = acceptEncoding ? { 'accept-encoding': acceptEncoding } : {};
        httpGet(url, { headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
    const plain = await raw('');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toContain('Accept-Encoding');
    const text = plain.body.toString();
    expect(llHlsViolations(text)).toEqual([]);
    for (const [header, encoding, decode] of [
      ['gzip, deflate, br', 'br', brotliDecompressSync],
      ['gzip', 'gzip', gunzipSync],
      ['br;q=0, gzip;q=0.5', 'gzip', gunzipSync],
    ] as const) {
      const packed = await raw('', header);
      expect(packed.headers['content-encoding']).toBe(encoding);
      expect(packed.headers.vary).toContain('Accept-Encoding');
      expect(Number(packed.headers['content-length'])).toBe(packed.body.length);
      const unpacked = decode(packed.body).toString();
      expect(llHlsViolations(unpacked)).toEqual([]);
      expect(
        unpacked
          .split('\n')
          .filter((l) => l.includes('.m4s'))
          .every((l) => /vs=/.test(l)),
      ).toBe(true);
      expect(packed.body.length).toBeLessThan(unpacked.length / 2);
    }
    const edge = parseMediaPlaylist(text).segments.at(-1)!;
    const held = await raw(`&_HLS_msn=${edge.msn + 1}&_HLS_part=0`, 'gzip');
    expect(held.headers['content-encoding']).toBe('gzip');
    const after = parseMediaPlaylist(gunzipSync(held.body).toString());
    expect(after.segments.some((s) => s.msn === edge.msn + 1)).toBe(true);
    // Nothing accepted: as it is.
    expect((await raw('', 'identity')).headers['content-encoding']).toBeUndefined();
  });

  it('plays in a regular HLS reader (ffprobe over the playlist), parts unknown to it', async () => {
    const result = await probe(server.hlsUrl('live/ll', play), 15);
    expect(result.code).toBe(0);
    expect(result.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
  });

  it('serves the dashboard preview from memory too, with the admin credential', async () => {
    const res = await admin('/api/v1/streams/live/ll/hls/copy.m3u8');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('#EXT-X-PART-INF');
    const map = /#EXT-X-MAP:URI="([^"?]+)/.exec(text)![1]!;
    const init = await admin(`/api/v1/streams/live/ll/hls/${map}`);
    expect(init.headers.get('content-type')).toBe('video/mp4');
    expect(
      Buffer.from(await init.arrayBuffer())
        .subarray(4, 8)
        .toString('latin1'),
    ).toBe('ftyp');
  });

  it('plays in Chromium with hls.js in low-latency mode (parts) and without it (segments only)', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${server.httpPort}/healthz`);
      await page.addScriptTag({ url: '/vendor/hls.min.js' });
      const url = server.hlsUrl('live/ll', play);
      await page.evaluate((src) => {
        const w = window as unknown as Record<string, unknown>;
        for (const lowLatencyMode of [true, false]) {
          const video = document.createElement('video');
          video.muted = true;
          document.body.append(video);
          const Hls = w.Hls as new (config: object) => {
            loadSource(u: string): void;
            attachMedia(v: HTMLVideoElement): void;
            on(event: string, f: (e: string, d: { part?: unknown }) => void): void;
          };
          const hls = new Hls({ lowLatencyMode });
          const stats = { parts: 0, fragments: 0, video, errors: [] as string[] };
          w[lowLatencyMode ? 'low' : 'regular'] = stats;
          hls.on('hlsFragLoaded', (_e, data) => {
            if (data.part) stats.parts++;
            else stats.fragments++;
          });
          hls.on(
            'hlsError',
            (_e, data) => void stats.errors.push(JSON.stringify(data).slice(0, 200)),
          );
          hls.loadSource(src);
          hls.attachMedia(video);
          void video.play().catch(() => {});
        }
      }, url);
      const state = () =>
        page.evaluate(() => {
          const w = window as unknown as Record<
            string,
            { parts: number; fragments: number; video: HTMLVideoElement; errors: string[] }
          >;
          const of = (s: (typeof w)[string]) => ({
            time: s.video.currentTime,
            parts: s.parts,
            fragments: s.fragments,
            errors: s.errors,
          });
          return { low: of(w.low!), regular: of(w.regular!) };
        });
      const seen = await eventually(async () => {
        const s = await state();
        return s.low.time > 2 && s.regular.time > 2 ? s : undefined;
      }, 40_000);
      // Low-latency mode loads parts; the regular player reads the same playlist's segments only.
      expect(seen.low.parts).toBeGreaterThan(0);
      expect(seen.regular.parts).toBe(0);
      expect(seen.regular.fragments).toBeGreaterThan(0);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('holds a preload-hinted part until it exists', async () => {
    const { text } = await media();
    const hint = parseMediaPlaylist(text).preloadHint!;
    const res = await get(hint);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/iso.segment');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.subarray(4, 8).toString('latin1')).toBe('moof');
  });

  it('refuses malformed LL-HLS requests with the spec’s 400', async () => {
    for (const query of [
      '&_HLS_part=1',
      '&_HLS_msn=x',
      '&_HLS_msn=1&_HLS_part=-1',
      '&_HLS_skip=NO',
    ]) {
      const res = await media(query);
      expect(res.status, query).toBe(400);
      expect(JSON.parse(res.text).error.code).toBe('HLS_REQUEST_INVALID');
    }
    const ahead = parseMediaPlaylist((await media()).text).segments.at(-1)!.msn + 10;
    const res = await media(`&_HLS_msn=${ahead}`);
    expect(res.status).toBe(400);
  });

  it('answers a delta update with EXT-X-SKIP once the playlist is longer than CAN-SKIP-UNTIL', async () => {
    await eventually(async () => {
      const text = (await media('&_HLS_skip=YES')).text;
      return parseMediaPlaylist(text).skipped > 0 ? text : undefined;
    }, 20_000);
    const { text } = await media('&_HLS_skip=YES');
    const parsed = parseMediaPlaylist(text);
    const full = parseMediaPlaylist((await media()).text);
    expect(parsed.mediaSequence).toBe(full.mediaSequence);
    expect(parsed.skipped + parsed.segments.length).toBeGreaterThanOrEqual(
      full.segments.length - 1,
    );
  });

  it('answers a held request with the refusal the moment its viewer is kicked', async () => {
    const kickedToken = await token('live/ll', 'play', 600);
    const url = server.hlsUrl('live/ll', kickedToken, 'copy.m3u8');
    const first = parseMediaPlaylist(await (await fetch(url)).text());
    // Two segments past the one in progress: seconds away.
    const heldLogs = server.logs.length;
    const held = fetch(`${url}&_HLS_msn=${first.segments.at(-1)!.msn + 2}`);
    // Kicked only once the request is held open at the server.
    await server.waitForLog(
      (l) => l.event === 'hls_request_held' && server.logs.indexOf(l) >= heldLogs,
      10_000,
    );
    const sessions = (await (await admin('/api/v1/sessions')).json()) as {
      sessions: Array<{ id: string; protocol: string; jti?: string; kind: string }>;
    };
    const viewers = sessions.sessions.filter((s) => s.protocol === 'hls' && s.kind === 'viewer');
    // The newest HLS viewer is the one that holds the request.
    const target = viewers.at(-1)!;
    expect((await admin(`/api/v1/sessions/${target.id}`, { method: 'DELETE' })).status).toBe(200);
    const res = await held;
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SESSION_ENDED');
    // Answered before the segment it waited for existed: not when the media arrived.
    const now = parseMediaPlaylist((await media()).text);
    expect(now.segments.filter((s) => s.uri).at(-1)!.msn).toBeLessThan(
      first.segments.at(-1)!.msn + 2,
    );
  });
});
