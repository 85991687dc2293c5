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
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=30`, '-f', 'lavfi', '-i', 'sine',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac', '-f', 'flv', file]);
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
