import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FlvTag {
  type: number;
  timestamp: number;
  data: Buffer;
}

/** Encodes a short H.264/AAC test clip as FLV with ffmpeg, once per call. */
export function makeSampleFlv(dir: string, seconds = 2, size = '320x180'): string {
  const file = join(dir, `sample-${seconds}s.flv`);
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${size}:rate=30`,
    '-f',
    'lavfi',
    '-i',
    'sine',
    '-t',
    String(seconds),
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
    '-f',
    'flv',
    file,
  ]);
  return file;
}

/** The tags of an FLV file, in order. */
export function readFlvTags(file: string): FlvTag[] {
  const buf = readFileSync(file);
  const tags: FlvTag[] = [];
  let offset = buf.readUInt32BE(5) + 4; // header, then PreviousTagSize0
  while (offset + 11 <= buf.length) {
    const type = buf[offset]!;
    const size = buf.readUIntBE(offset + 1, 3);
    const timestamp = buf.readUIntBE(offset + 4, 3) | (buf[offset + 7]! << 24);
    const data = buf.subarray(offset + 11, offset + 11 + size);
    if (data.length < size) break;
    tags.push({ type, timestamp, data });
    offset += 11 + size + 4;
  }
  return tags;
}

/** A VP8/Opus WebM clip, as Chromium's MediaRecorder would send. */
export function makeSampleWebm(dir: string, seconds = 4, size = '320x180'): string {
  const file = join(dir, `sample-${seconds}s.webm`);
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${size}:rate=30`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(seconds),
    '-c:v',
    'libvpx',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-b:v',
    '500k',
    '-c:a',
    'libopus',
    '-f',
    'webm',
    file,
  ]);
  return file;
}

/** An H.264/AAC fragmented MP4 (empty moov, a fragment per key frame), as a fMP4 ingest client sends. */
export function makeSampleFmp4(dir: string, seconds = 4, size = '320x180'): string {
  const file = join(dir, `sample-${seconds}s.mp4`);
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${size}:rate=30`,
    '-f',
    'lavfi',
    '-i',
    'sine',
    '-t',
    String(seconds),
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
    file,
  ]);
  return file;
}
