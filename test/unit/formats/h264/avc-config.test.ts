// The decoder config of real x264 streams in every chroma format and bit depth FFmpeg can make.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FlvReader } from '../../../../src/formats/flv/flv-reader.js';
import { unitFromFlv } from '../../../../src/formats/flv/flv-demux.js';
import {
  describeAvcFormat,
  isWidelyPlayable,
  parseAvcConfig,
} from '../../../../src/formats/h264/avc-config.js';

/** The AVCDecoderConfigurationRecord x264 writes for one frame in `pixFmt`, as FLV carries it. */
function avcConfig(pixFmt: string, extra: string[] = []): Buffer {
  const flv = execFileSync(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=5'],
      ...['-frames:v', '1', '-c:v', 'libx264', '-pix_fmt', pixFmt, ...extra, '-f', 'flv', 'pipe:1'],
    ],
    { maxBuffer: 16 << 20 },
  );
  let config: Buffer | undefined;
  new FlvReader(1 << 20, (av) => {
    const unit = unitFromFlv(av);
    if (unit?.kind === 'access-unit' && unit.config && unit.track === 'video')
      config ??= unit.payload;
  }).push(flv);
  return config!;
}

describe('H.264 decoder config', () => {
  it('reads profile, chroma format and bit depth from the first SPS', () => {
    const yuv420 = parseAvcConfig(avcConfig('yuv420p'))!;
    expect(yuv420).toEqual({
      profileIdc: 100,
      chromaFormatIdc: 1,
      bitDepthLuma: 8,
      bitDepthChroma: 8,
      // The picture size after cropping, as the packager's init segment declares it.
      width: 160,
      height: 120,
    });
    expect(isWidelyPlayable(yuv420)).toBe(true);
    expect(describeAvcFormat(yuv420)).toBe('High, 4:2:0 8-bit');

    const baseline = parseAvcConfig(avcConfig('yuv420p', ['-profile:v', 'baseline']))!;
    expect(baseline.profileIdc).toBe(66);
    expect(isWidelyPlayable(baseline)).toBe(true);

    const yuv444 = parseAvcConfig(avcConfig('yuv444p'))!;
    expect(yuv444).toMatchObject({ profileIdc: 244, chromaFormatIdc: 3, bitDepthLuma: 8 });
    expect(isWidelyPlayable(yuv444)).toBe(false);
    expect(describeAvcFormat(yuv444)).toBe('High 4:4:4 Predictive, 4:4:4 8-bit');

    const yuv422 = parseAvcConfig(avcConfig('yuv422p'))!;
    expect(yuv422).toMatchObject({ profileIdc: 122, chromaFormatIdc: 2 });
    expect(isWidelyPlayable(yuv422)).toBe(false);
  });

  it('reads 10-bit when the x264 build makes it', () => {
    let config: Buffer;
    try {
      config = avcConfig('yuv420p10le');
    } catch {
      return; // an x264 built for 8-bit only
    }
    const format = parseAvcConfig(config)!;
    expect(format).toMatchObject({ chromaFormatIdc: 1, bitDepthLuma: 10, bitDepthChroma: 10 });
    expect(isWidelyPlayable(format)).toBe(false);
  });

  it('refuses what is not a config record, and truncated ones, without throwing', () => {
    const good = avcConfig('yuv420p');
    expect(parseAvcConfig(Buffer.alloc(0))).toBeUndefined();
    expect(parseAvcConfig(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8]))).toBeUndefined();
    for (let cut = 0; cut < good.length; cut++)
      expect(() => parseAvcConfig(good.subarray(0, cut))).not.toThrow();
    expect(parseAvcConfig(good.subarray(0, 10))).toBeUndefined();
  });
});
