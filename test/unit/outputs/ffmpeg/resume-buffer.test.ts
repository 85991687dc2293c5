// The resume buffer against real FFmpeg-made WebM, Matroska and fragmented MP4: it finds the key
// units whatever the chunking, and what it hands a new FFmpeg decodes from its first frame.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MatroskaScanner } from '../../../../src/formats/matroska/matroska-scanner.js';
import { Mp4Scanner } from '../../../../src/formats/mp4/mp4-scanner.js';
import { ResumeBuffer } from '../../../../src/outputs/ffmpeg/resume-buffer.js';

const SECONDS = 6;
const lavfi = [
  '-f',
  'lavfi',
  '-i',
  'testsrc=size=320x180:rate=30',
  '-f',
  'lavfi',
  '-i',
  'sine=sample_rate=48000',
  '-t',
  String(SECONDS),
];
const samples: Record<string, { file: string; format: 'matroska' | 'mp4' }> = {};
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sd-resume-'));
  const make = (name: string, format: 'matroska' | 'mp4', args: string[]) => {
    const file = join(dir, name);
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...lavfi, ...args, file]);
    samples[name] = { file, format };
  };
  // Key frame every second; written to a pipe, as a live muxer would (Segment and Clusters of unknown size).
  const webm = join(dir, 'vp8.webm');
  const piped = execFileSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      ...lavfi,
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-g',
      '30',
      '-c:a',
      'libopus',
      '-f',
      'webm',
      'pipe:1',
    ],
    { maxBuffer: 64 * 2 ** 20 },
  );
  writeFileSync(webm, piped);
  samples['vp8.webm'] = { file: webm, format: 'matroska' };
  make('h264.mkv', 'matroska', [
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '30',
    '-c:a',
    'aac',
  ]);
  make('h264.mp4', 'mp4', [
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '30',
    '-c:a',
    'aac',
    '-movflags',
    'frag_keyframe+empty_moov+default_base_moof',
    '-f',
    'mp4',
  ]);
  // Fragments every 0.5 s: half of them start on a frame that is not a key frame.
  make('h264-half.mp4', 'mp4', [
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '30',
    '-c:a',
    'aac',
    '-movflags',
    'empty_moov+default_base_moof',
    '-frag_duration',
    '500000',
    '-f',
    'mp4',
  ]);
}, 60_000);

/** A seeded chunking: sizes from 1 byte to 64 KiB, as WebSocket messages might cut a stream. */
function chunks(bytes: Buffer, seed: number): Buffer[] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = next() < 0.3 ? 1 + Math.floor(next() * 16) : 1 + Math.floor(next() * 65536);
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

function scan(format: 'matroska' | 'mp4', parts: Buffer[]): Array<[number, boolean]> {
  const units: Array<[number, boolean]> = [];
  const events = {
    onUnitStart: () => {},
    onUnit: (offset: number, key: boolean) => units.push([offset, key]),
  };
  const scanner = format === 'matroska' ? new MatroskaScanner(events) : new Mp4Scanner(events);
  for (const part of parts) scanner.push(part);
  return units;
}

/** Decodes a file fully; returns the first video frame's key flag and how many video frames decoded. */
function decode(file: string): { firstIsKey: boolean; frames: number; errors: string } {
  const probe = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'frame=key_frame',
      '-of',
      'csv=p=0',
      file,
    ],
    { encoding: 'utf8' },
  );
  const flags = probe.stdout.trim().split('\n').filter(Boolean);
  const errors = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], {
    encoding: 'utf8',
  }).stderr.trim();
  return { firstIsKey: flags[0] === '1', frames: flags.length, errors };
}

describe('resume buffer', () => {
  it.each(['vp8.webm', 'h264.mkv', 'h264.mp4', 'h264-half.mp4'])(
    '%s: the same key units whatever the chunking, one per key frame',
    (name) => {
      const { file, format } = samples[name]!;
      const bytes = readFileSync(file);
      const whole = scan(format, [bytes]);
      for (const seed of [1, 2, 3]) expect(scan(format, chunks(bytes, seed))).toEqual(whole);
      const keys = whole.filter(([, key]) => key).length;
      expect(keys).toBeGreaterThanOrEqual(SECONDS - 1);
      expect(keys).toBeLessThanOrEqual(SECONDS + 1);
      if (name === 'h264-half.mp4') expect(whole.length - keys).toBeGreaterThanOrEqual(SECONDS - 1);
      // Units are in stream order and none starts at 0 (the header comes first).
      expect(whole[0]![0]).toBeGreaterThan(0);
      expect(whole.map(([o]) => o)).toEqual([...whole.map(([o]) => o)].sort((a, b) => a - b));
    },
  );

  it.each(['vp8.webm', 'h264.mkv', 'h264.mp4', 'h264-half.mp4'])(
    '%s: cut anywhere, the resume bytes decode from a key frame without errors',
    (name) => {
      const { file, format } = samples[name]!;
      const bytes = readFileSync(file);
      for (const cutAt of [0.35, 0.7]) {
        const buffer = new ResumeBuffer(format);
        for (const part of chunks(bytes.subarray(0, Math.floor(bytes.length * cutAt)), 7))
          buffer.push(part);
        const resume = buffer.resumeBytes();
        expect(resume, `no resume point at ${cutAt}`).toBeDefined();
        const out = join(dir, `resume-${cutAt}-${name}`);
        // The live stream goes on after the cut: the new FFmpeg gets the resume bytes, then the rest.
        writeFileSync(
          out,
          Buffer.concat([...resume!, bytes.subarray(Math.floor(bytes.length * cutAt))]),
        );
        const result = decode(out);
        expect(result.errors).toBe('');
        expect(result.firstIsKey).toBe(true);
        // At most one GOP (1 s) replayed, the rest of the stream all there.
        expect(result.frames).toBeGreaterThanOrEqual(Math.floor(SECONDS * 30 * (1 - cutAt)));
        expect(result.frames).toBeLessThanOrEqual(Math.ceil(SECONDS * 30 * (1 - cutAt)) + 31);
      }
    },
  );

  it('holds the header and one GOP at most, and drops a GOP that outgrows its cap', () => {
    const bytes = readFileSync(samples['h264.mkv']!.file);
    const buffer = new ResumeBuffer('matroska', {
      maxHeaderBytes: 64 * 1024,
      maxGopBytes: 2 * 2 ** 20,
    });
    let most = 0;
    for (const part of chunks(bytes, 11)) {
      buffer.push(part);
      most = Math.max(most, buffer.heldBytes);
    }
    const gop = bytes.length / SECONDS;
    expect(most).toBeLessThan(gop * 2.5 + 64 * 1024);
    expect(buffer.resumeBytes()).toBeDefined();

    const tight = new ResumeBuffer('matroska', { maxHeaderBytes: 64 * 1024, maxGopBytes: 1000 });
    for (const part of chunks(bytes, 11)) tight.push(part);
    expect(tight.resumeBytes()).toBeUndefined();
    expect(tight.heldBytes).toBeLessThan(64 * 1024 + 1000 + 65536);
  });

  it('survives 300 mutated streams (seeded): never throws, never holds more than its limits', () => {
    let state = 20261123;
    const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const limits = { maxHeaderBytes: 256 * 1024, maxGopBytes: 2 * 2 ** 20 };
    for (let round = 0; round < 300; round++) {
      const { file, format } =
        samples[['vp8.webm', 'h264.mkv', 'h264.mp4', 'h264-half.mp4'][round % 4]!]!;
      const bytes = Buffer.from(readFileSync(file).subarray(0, 400_000));
      const flips = 1 + Math.floor(next() * 20);
      for (let i = 0; i < flips; i++) {
        // Mostly near the start, where the structure the scanners read is densest.
        const at = Math.floor(next() ** 3 * bytes.length);
        bytes[at] = Math.floor(next() * 256);
      }
      const buffer = new ResumeBuffer(format, limits);
      for (const part of chunks(bytes, round + 1)) {
        expect(() => buffer.push(part)).not.toThrow();
        expect(buffer.heldBytes).toBeLessThanOrEqual(
          limits.maxHeaderBytes + limits.maxGopBytes + 65_536 * 2,
        );
      }
    }
  });

  it('an endless cluster without a video frame (audio only) is not held without bound', () => {
    // EBML element: ID bytes, then a size as an 8-byte varint (0x01 marker), or "unknown".
    const el = (id: number[], body: Buffer | undefined) => {
      const size = Buffer.alloc(8);
      if (body) size.writeBigUInt64BE(BigInt(body.length) | (1n << 56n));
      else size.fill(0xff, 1).writeUInt8(0x01, 0);
      return Buffer.concat([Buffer.from(id), size, body ?? Buffer.alloc(0)]);
    };
    const entry = (n: number, type: number) =>
      el([0xae], Buffer.concat([el([0xd7], Buffer.from([n])), el([0x83], Buffer.from([type]))]));
    const header = Buffer.concat([
      el([0x1a, 0x45, 0xdf, 0xa3], Buffer.alloc(4)),
      el([0x18, 0x53, 0x80, 0x67], undefined),
      el([0x16, 0x54, 0xae, 0x6b], Buffer.concat([entry(1, 1), entry(2, 2)])),
    ]);
    const cluster = Buffer.concat([
      el([0x1f, 0x43, 0xb6, 0x75], undefined),
      el([0xe7], Buffer.from([0])),
    ]);
    const audioBlock = el(
      [0xa3],
      Buffer.concat([Buffer.from([0x82, 0, 0, 0x80]), Buffer.alloc(1000)]),
    ); // track 2
    const videoKey = el(
      [0xa3],
      Buffer.concat([Buffer.from([0x81, 0, 0, 0x80]), Buffer.alloc(1000)]),
    ); // track 1, key frame
    const buffer = new ResumeBuffer('matroska', { maxHeaderBytes: 4096, maxGopBytes: 100_000 });
    buffer.push(header);
    buffer.push(cluster);
    for (let i = 0; i < 1000; i++) buffer.push(audioBlock);
    expect(buffer.heldBytes).toBeLessThan(header.length + 100_000 + 2 * audioBlock.length);
    expect(buffer.canResume).toBe(false);
    // A video key frame in that cluster, so late its start was let go: still nothing to resume from.
    buffer.push(videoKey);
    expect(buffer.canResume).toBe(false);
    // The next cluster that starts with one is.
    buffer.push(cluster);
    buffer.push(videoKey);
    expect(buffer.canResume).toBe(true);
    expect(Buffer.concat(buffer.resumeBytes()!)).toEqual(
      Buffer.concat([header, cluster, videoKey]),
    );
  });

  it('gives up on bytes it cannot follow, with a reason, and never throws', () => {
    for (const [format, junk] of [
      ['matroska', Buffer.from('not a matroska stream at all')],
      ['mp4', Buffer.from([0, 0, 0, 4, 0x6d, 0x6f, 0x6f, 0x66])],
      ['mp4', Buffer.from([0, 0, 0, 0, 0x6d, 0x64, 0x61, 0x74])],
    ] as const) {
      const buffer = new ResumeBuffer(format);
      expect(() => buffer.push(junk)).not.toThrow();
      expect(buffer.unresumable).toMatch(/container not followed/);
      expect(buffer.resumeBytes()).toBeUndefined();
      expect(buffer.heldBytes).toBe(0);
    }
    const huge = new ResumeBuffer('mp4', { maxHeaderBytes: 100, maxGopBytes: 1000 });
    huge.push(Buffer.concat([Buffer.from([0, 0, 1, 0]), Buffer.from('free'), Buffer.alloc(252)]));
    expect(huge.unresumable).toMatch(/header larger than 100 bytes/);
  });
});
