// FLV tags ⇄ codec-neutral units, on a real FFmpeg-made FLV (H.264 with B-frames, AAC, onMetaData):
// the neutral fields say what the bytes say, and a unit built from those fields alone writes back
// the very tag it came from.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AccessUnit, StreamMetadata, type MediaUnit } from '../../../src/media/media-unit.js';
import { FlvReader } from '../../../src/formats/flv/flv-reader.js';
import { unitFromFlv } from '../../../src/formats/flv/flv-demux.js';
import { flvFileHeader, flvTag, flvTagBody } from '../../../src/formats/flv/flv-mux.js';
import type { AVPacket } from '../../../src/formats/flv/nms.js';

const flv = execFileSync(
  'ffmpeg',
  [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'],
    ...['-f', 'lavfi', '-i', 'sine', '-t', '2', '-c:v', 'libx264', '-bf', '2', '-g', '25'],
    ...['-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', 'pipe:1'],
  ],
  { maxBuffer: 64 << 20 },
);

/** Every tag of the file: its unit (read as the parser hands it over) and the tag's own bytes. */
function tagsOf(file: Buffer): { unit: MediaUnit | undefined; bytes: Buffer }[] {
  const tags: { unit: MediaUnit | undefined; bytes: Buffer }[] = [];
  let offset = 13;
  const reader = new FlvReader(1 << 20, (av) => {
    const length = 11 + av.size + 4;
    tags.push({ unit: unitFromFlv(av), bytes: file.subarray(offset, offset + length) });
    offset += length;
  });
  reader.push(file);
  return tags;
}

/** The same unit from its neutral fields only: nothing of the FLV bytes it arrived in. */
function fromFields(unit: AccessUnit): AccessUnit {
  const { track, codec, dts, pts, key, config, payload } = unit;
  return new AccessUnit({ track, codec, dts, pts, key, config, payload: Buffer.from(payload) });
}

describe('FLV units', () => {
  const all = tagsOf(flv);
  // FFmpeg ends the file with an AVC end-of-sequence tag: not media, the only tag dropped.
  expect(all.filter(({ unit }) => unit === undefined)).toHaveLength(1);
  const tags = all.filter(({ unit }) => unit !== undefined);
  const units = tags.map(({ unit }) => unit!);
  const access = units.filter((u): u is AccessUnit => u.kind === 'access-unit');

  it('reads codec, configs, key frames and composition times from the tags', () => {
    expect(flv.subarray(0, 13)).toEqual(flvFileHeader(true));
    const video = access.filter((u) => u.track === 'video');
    const audio = access.filter((u) => u.track === 'audio');
    expect(video.every((u) => u.codec === 'h264')).toBe(true);
    expect(audio.every((u) => u.codec === 'aac')).toBe(true);
    const [videoConfig] = video.filter((u) => u.config);
    expect(videoConfig!.payload[0]).toBe(1); // AVCDecoderConfigurationRecord version
    expect(audio.filter((u) => u.config)).toHaveLength(1);
    expect(video.filter((u) => u.key).length).toBe(2); // -g 25 over 2 s
    expect(video.find((u) => !u.config)!.key).toBe(true);
    // B-frames: presentation runs ahead of decode for some frames, never behind.
    expect(video.some((u) => u.pts > u.dts)).toBe(true);
    expect(video.every((u) => u.pts >= u.dts)).toBe(true);
    const metadata = units.find((u): u is StreamMetadata => u.kind === 'metadata')!;
    expect(metadata.number('width')).toBe(320);
    expect(metadata.number('height')).toBe(240);
  });

  it('writes a unit back as the very tag it came from, from its kept bytes or its fields alone', () => {
    tags.forEach(({ bytes }, i) => {
      const unit: MediaUnit = units[i]!;
      if (unit.kind === 'access-unit') expect(flvTag(fromFields(unit))).toEqual(bytes);
      expect(flvTag(unit)).toEqual(bytes);
    });
  });

  it('takes negative composition times and enhanced-RTMP HEVC, and drops what is not media', () => {
    const packet = (type: number, body: number[], dts = 1000): AVPacket =>
      ({ codec_type: type, size: body.length, data: Buffer.from(body), dts, pts: dts }) as AVPacket;
    const negative = unitFromFlv(packet(9, [0x27, 1, 0xff, 0xff, 0xd8, 0, 0, 0, 1, 0x41]));
    expect(negative).toMatchObject({ codec: 'h264', key: false, dts: 1000, pts: 960 });
    expect(flvTagBody(fromFields(negative as AccessUnit))).toEqual(
      Buffer.from([0x27, 1, 0xff, 0xff, 0xd8, 0, 0, 0, 1, 0x41]),
    );
    // [1 | key | coded frames] "hvc1" [cts 40] payload
    const hevc = unitFromFlv(packet(9, [0x91, ...Buffer.from('hvc1'), 0, 0, 40, 9, 9]));
    expect(hevc).toMatchObject({ codec: 'hevc', key: true, config: false, pts: 1040 });
    expect((hevc as AccessUnit).payload).toEqual(Buffer.from([9, 9]));
    const hevcConfig = unitFromFlv(packet(9, [0x90, ...Buffer.from('hvc1'), 1, 2]));
    expect(hevcConfig).toMatchObject({ codec: 'hevc', config: true });
    expect(unitFromFlv(packet(9, [0x17, 2, 0, 0, 0]))).toBeUndefined(); // end of sequence
    expect(unitFromFlv(packet(9, [0x17, 1]))).toBeUndefined(); // too short for its header
    expect(unitFromFlv(packet(8, []))).toBeUndefined();
    expect(unitFromFlv(packet(8, [0x2f, 1, 2]))).toMatchObject({ codec: 'mp3', config: false });
    expect(() => flvTagBody(fromFields(hevc as AccessUnit))).toThrow(/not supported/);
  });

  it('serialises a unit once per wire format, whoever asks', () => {
    const unit = access[5]!;
    let encodes = 0;
    const encode = () => (encodes++, Buffer.from('x'));
    expect(unit.encodedAs('test', encode)).toBe(unit.encodedAs('test', encode));
    expect(encodes).toBe(1);
  });
});
