import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { probe, publish, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { token } from '../helpers/tokens.js';
import { makeSampleWebm } from '../helpers/flv.js';
import { openPublisher, sendPaced } from '../helpers/ws-client.js';
import { llHlsViolations, parseMediaPlaylist } from '../helpers/hls-spec.js';

// FFmpeg as an encoder, not a packager: a ladder's rungs and a browser publisher's WebM (VP8/Opus)
// are encoded by FFmpeg into FLV pipes and packaged in-process like a passthrough stream: CMAF
// parts, LL-HLS, segments lined up across the ladder, nothing on disk.

let server: TestServer;
let publisher: RunningProcess;
let play: string;
const work = mkdtempSync(join(tmpdir(), 'sd-encoded-'));
const RENDITIONS = ['copy', '240p', '160p'];

const media = async (stream: string, jwt: string, file: string, query = '') => {
  const res = await fetch(`${server.hlsUrl(stream, jwt, file)}${query}`);
  return { status: res.status, text: await res.text() };
};
const bytes = async (stream: string, uri: string) =>
  Buffer.from(
    await (await fetch(`http://127.0.0.1:${server.httpPort}/${stream}/${uri}`)).arrayBuffer(),
  );

/** ffprobe's view of an init segment followed by media segments. */
function probeFile(file: string) {
  return JSON.parse(
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
  ) as {
    streams: Array<{ codec_name: string; width?: number; height?: number; nb_read_frames: string }>;
  };
}

/** Every rendition's playlist once each lists segment `msn` as complete. */
async function playlistsWith(msn: number): Promise<Map<string, string>> {
  return eventually(async () => {
    const texts = new Map<string, string>();
    for (const name of RENDITIONS) {
      const { text } = await media('live/ladder', play, `${name}.m3u8`);
      if (!parseMediaPlaylist(text).segments.some((s) => s.msn === msn && s.uri)) return undefined;
      texts.set(name, text);
    }
    return texts;
  }, 30_000);
}

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, {
      hls: {
        segmentSec: 1,
        playlistSize: 6,
        renditions: [
          { name: 'copy', copy: true },
          {
            name: '240p',
            height: 240,
            videoBitrateKbps: 400,
            audioBitrateKbps: 64,
            preset: 'ultrafast',
          },
          {
            name: '160p',
            height: 160,
            videoBitrateKbps: 200,
            audioBitrateKbps: 48,
            preset: 'ultrafast',
          },
        ],
      },
    }),
  );
  publisher = publish(server.url('live/ladder', await token('live/ladder', 'publish', 600)), 120);
  play = await token('live/ladder', 'play', 600);
  await eventually(
    async () =>
      (await fetch(server.hlsUrl('live/ladder', play))).status === 200 ? true : undefined,
    30_000,
  );
}, 45_000);

afterAll(async () => {
  publisher?.stop();
  await server?.stop();
});

describe('a ladder encoded by FFmpeg and packaged in-process', () => {
  it('runs one FFmpeg writing a FLV pipe per rendition, and nothing to disk', async () => {
    const output = server.stagedoor.outputs!.get('live/ladder')!;
    expect(output.kind).toBe('ffmpeg');
    const pid = output.process!.pid!;
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(args.filter((a) => /^pipe:[345]$/.test(a))).toEqual(['pipe:3', 'pipe:4', 'pipe:5']);
    expect(args).not.toContain('hls');
    const dir = join(server.mediaDir, 'live', 'ladder');
    const files = (() => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    })();
    expect(files.filter((f) => /\.(ts|m4s|m3u8|mp4)$/.test(f))).toEqual([]);
  });

  it('lists every rendition in the master with its real codecs and size', async () => {
    const master = await (await fetch(server.hlsUrl('live/ladder', play))).text();
    for (const [name, size] of [
      ['copy', '640x360'],
      ['240p', '426x240'],
      ['160p', '284x160'],
    ] as const) {
      const line = master.split('\n').findIndex((l) => l.startsWith(`${name}.m3u8`));
      expect(line, master).toBeGreaterThan(0);
      expect(master.split('\n')[line - 1]).toContain(`RESOLUTION=${size}`);
      expect(master.split('\n')[line - 1]).toMatch(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    }
  });

  it('serves every rendition as LL-HLS that keeps the spec, reporting the others', async () => {
    for (const name of RENDITIONS) {
      const { status, text } = await media('live/ladder', play, `${name}.m3u8`);
      expect(status).toBe(200);
      expect(llHlsViolations(text), `${name}\n${text}`).toEqual([]);
      for (const other of RENDITIONS.filter((n) => n !== name))
        expect(text).toMatch(
          new RegExp(`#EXT-X-RENDITION-REPORT:URI="${other}\\.m3u8\\?[^"]+",LAST-MSN=\\d+`),
        );
    }
  });

  it('lines segments up across the ladder: the same numbers, the same durations', async () => {
    const start = parseMediaPlaylist((await media('live/ladder', play, 'copy.m3u8')).text);
    const msn = start.segments.at(-1)!.msn + 2;
    const texts = await playlistsWith(msn);
    const durations = (name: string) =>
      new Map(
        parseMediaPlaylist(texts.get(name)!)
          .segments.filter((s) => s.uri && s.msn <= msn)
          .map((s) => [s.msn, s.duration ?? 0]),
      );
    const copy = durations('copy');
    expect(copy.size).toBeGreaterThanOrEqual(3);
    for (const name of ['240p', '160p']) {
      const rung = durations(name);
      for (const [n, seconds] of copy)
        if (rung.has(n))
          expect(Math.abs(rung.get(n)! - seconds), `${name} segment ${n}`).toBeLessThan(0.05);
    }
  });

  it('makes rungs that ffprobe decodes at their height, from the init segment on', async () => {
    for (const [name, height] of [
      ['240p', 240],
      ['160p', 160],
    ] as const) {
      const text = (await media('live/ladder', play, `${name}.m3u8`)).text;
      const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)![1]!;
      const segment = parseMediaPlaylist(text)
        .segments.filter((s) => s.uri)
        .at(-1)!;
      const file = join(work, `${name}.mp4`);
      writeFileSync(
        file,
        Buffer.concat([await bytes('live/ladder', map), await bytes('live/ladder', segment.uri!)]),
      );
      const streams = probeFile(file).streams;
      const video = streams.find((s) => s.codec_name === 'h264')!;
      expect(video.height).toBe(height);
      expect(Number(video.nb_read_frames)).toBeGreaterThanOrEqual(20);
      expect(streams.some((s) => s.codec_name === 'aac')).toBe(true);
    }
  });

  it('answers a blocking reload of a rung once its next part exists', async () => {
    const before = parseMediaPlaylist((await media('live/ladder', play, '160p.m3u8')).text);
    const edge = before.segments.at(-1)!;
    const msn = edge.uri ? edge.msn + 1 : edge.msn;
    const part = edge.uri ? 0 : edge.parts.length;
    const { status, text } = await media(
      'live/ladder',
      play,
      '160p.m3u8',
      `&_HLS_msn=${msn}&_HLS_part=${part}`,
    );
    expect(status).toBe(200);
    expect(
      parseMediaPlaylist(text).segments.find((s) => s.msn === msn)!.parts.length,
    ).toBeGreaterThan(part);
  });
});

describe('a browser publisher (WebM, VP8/Opus over WebSocket) encoded and packaged', () => {
  it('plays as LL-HLS H.264/AAC from memory', async () => {
    const webm = makeSampleWebm(work, 8);
    const { ws } = await openPublisher(
      `ws://127.0.0.1:${server.httpPort}/ws/live/browser?token=${await token('live/browser', 'publish')}`,
    );
    const sending = sendPaced(ws!, webm, 8);
    const jwt = await token('live/browser', 'play');
    try {
      const text = await eventually(async () => {
        const { status, text } = await media('live/browser', jwt, 'copy.m3u8');
        return status === 200 && parseMediaPlaylist(text).segments.some((s) => s.uri)
          ? text
          : undefined;
      }, 30_000);
      expect(llHlsViolations(text)).toEqual([]);
      expect(text).toContain('#EXT-X-PART:');
      expect(server.stagedoor.outputs!.get('live/browser')!.kind).toBe('ffmpeg');
      const result = await probe(server.hlsUrl('live/browser', jwt), 10);
      expect(result.code).toBe(0);
      // The same ladder as any stream: each rendition H.264 + AAC.
      expect([...new Set(result.streams.map((s) => s.codec_name))].sort()).toEqual(['aac', 'h264']);
      expect(result.streams.filter((s) => s.codec_name === 'h264')).toHaveLength(3);
    } finally {
      ws!.close();
      await sending.catch(() => {});
    }
  }, 60_000);
});
