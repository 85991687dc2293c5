// The packager fed the units of real FFmpeg-made FLV (H.264 + AAC, audio only, video only, a codec
// change mid-stream), its output read back by ffprobe.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlvReader } from '../../../../src/formats/flv/flv-reader.js';
import { unitFromFlv } from '../../../../src/formats/flv/flv-demux.js';
import { LiveStream } from '../../../../src/media/live-stream.js';
import type { MediaUnit } from '../../../../src/media/media-unit.js';
import { Packager } from '../../../../src/outputs/packager/packager.js';
import { PackagedMedia } from '../../../../src/outputs/packager/packaged-media.js';
import { RenditionWindow } from '../../../../src/outputs/packager/rendition-window.js';
import { createLogger } from '../../../../src/log/logger.js';
import { llHlsViolations, parseMediaPlaylist } from '../../../helpers/hls-spec.js';

const log = createLogger({ level: 'silent' });
const path = { app: 'live', name: 'unit' };
const work = mkdtempSync(join(tmpdir(), 'sd-packager-'));

/** The units FFmpeg's FLV muxer makes of `seconds` of test picture and tone. */
function flvUnits(
  seconds: number,
  options: { size?: string; audio?: boolean; video?: boolean } = {},
) {
  const { size = '320x180', audio = true, video = true } = options;
  const inputs = [
    ...(video ? ['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=30`] : []),
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=sample_rate=48000'] : []),
  ];
  const codecs = [
    ...(video
      ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30']
      : []),
    ...(audio ? ['-c:a', 'aac'] : []),
  ];
  const flv = execFileSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      ...inputs,
      '-t',
      String(seconds),
      ...codecs,
      '-f',
      'flv',
      'pipe:1',
    ],
    { maxBuffer: 64 << 20 },
  );
  const units: MediaUnit[] = [];
  new FlvReader(32 << 20, (av) => {
    const unit = unitFromFlv(av);
    if (unit) units.push(unit);
  }).push(flv);
  return units;
}

function packager(media = new PackagedMedia()) {
  const stream = new LiveStream(path, 0);
  const output = new Packager(stream, {
    media,
    rendition: 'copy',
    partTargetSec: 0.2,
    segmentTargetSec: 1,
    playlistSize: 20,
    hooks: { onRestart: () => {}, onPlayable: () => {} },
    log,
  });
  stream.attach(output);
  return { stream, output, media };
}

async function started(media = new PackagedMedia()) {
  const p = packager(media);
  await p.output.begin(Promise.resolve());
  return p;
}

const playlistOf = (media: PackagedMedia) => media.playlist(path, 'copy.m3u8');

/** ffprobe's streams of the init segment `map` followed by `segments`. */
async function probeSegments(media: PackagedMedia, map: string, segments: string[]) {
  const file = join(work, `${map}-${segments[0]}.mp4`);
  const parts = [
    await media.media(path, map),
    ...(await Promise.all(segments.map((s) => media.media(path, s)))),
  ];
  writeFileSync(file, Buffer.concat(parts));
  return (
    JSON.parse(
      execFileSync('ffprobe', [
        ...[
          '-v',
          'error',
          '-count_frames',
          '-show_entries',
          'stream=codec_name,width,nb_read_frames',
        ],
        ...['-of', 'json', file],
      ]).toString(),
    ) as { streams: Array<{ codec_name: string; width?: number; nb_read_frames: string }> }
  ).streams;
}

describe('the packager', () => {
  it('starts a new init segment after a discontinuity when the codec configuration changes', async () => {
    const { stream, output, media } = await started();
    for (const unit of flvUnits(3)) stream.write(unit);
    // A second encoder at another size: its configurations arrive mid-stream.
    for (const unit of flvUnits(3, { size: '160x120' })) stream.write(unit);
    await output.stop('publisher-gone');
    const text = await playlistOf(media);
    expect(llHlsViolations(text)).toEqual([]);
    expect(text.match(/#EXT-X-MAP/g)).toHaveLength(2);
    expect(text.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
    expect(text).toContain('#EXT-X-ENDLIST');
    const lines = text.split('\n');
    const maps = lines
      .filter((l) => l.startsWith('#EXT-X-MAP'))
      .map((l) => /URI="([^"]+)"/.exec(l)![1]!);
    const after = lines.slice(lines.indexOf('#EXT-X-DISCONTINUITY'));
    const segment = after.find((l) => l.startsWith('copy_s'))!;
    const streams = await probeSegments(media, maps[1]!, [segment]);
    expect(streams.find((s) => s.codec_name === 'h264')?.width).toBe(160);
    const before = lines.find((l) => l.startsWith('copy_s'))!;
    expect(
      (await probeSegments(media, maps[0]!, [before])).find((s) => s.codec_name === 'h264')?.width,
    ).toBe(320);
  });

  it('packages an audio-only stream, and a video-only one', async () => {
    for (const [options, codecs] of [
      [{ video: false }, ['aac']],
      [{ audio: false }, ['h264']],
    ] as const) {
      const { stream, output, media } = await started();
      for (const unit of flvUnits(3, options)) stream.write(unit);
      await output.stop('publisher-gone');
      const text = await playlistOf(media);
      expect(llHlsViolations(text)).toEqual([]);
      const parsed = parseMediaPlaylist(text);
      const map = /URI="([^"]+)"/.exec(text)![1]!;
      const streams = await probeSegments(
        media,
        map,
        parsed.segments.map((s) => s.uri!),
      );
      expect(streams.map((s) => s.codec_name)).toEqual(codecs);
      expect(Number(streams[0]!.nb_read_frames)).toBeGreaterThan(codecs[0] === 'aac' ? 100 : 80);
    }
  });

  it('continues the numbering after a discontinuity for a new publisher', async () => {
    const { stream, output, media } = await started();
    for (const unit of flvUnits(2)) stream.write(unit);
    const first = parseMediaPlaylist(await playlistOf(media));
    output.restartForNewPublisher();
    for (const unit of flvUnits(2)) stream.write(unit);
    const text = await playlistOf(media);
    const parsed = parseMediaPlaylist(text);
    expect(parsed.mediaSequence).toBe(first.mediaSequence);
    expect(parsed.segments.filter((s) => s.discontinuity)).toHaveLength(1);
    expect(llHlsViolations(text)).toEqual([]);
  });

  it('answers a blocking reload when the part exists, refuses one too far ahead, and ends on abort', async () => {
    const { stream, media } = await started();
    const units = flvUnits(4);
    const half = Math.floor(units.length / 2);
    for (const unit of units.slice(0, half)) stream.write(unit);
    const now = parseMediaPlaylist(await playlistOf(media));
    const edge = now.segments.at(-1)!;
    const waiting = media.playlist(path, 'copy.m3u8', { at: { msn: edge.msn + 1, part: 0 } });
    await expect(
      media.playlist(path, 'copy.m3u8', { at: { msn: edge.msn + 5 } }),
    ).rejects.toMatchObject({ code: 'HLS_REQUEST_INVALID' });
    const aborter = new AbortController();
    const aborted = media.playlist(path, 'copy.m3u8', {
      at: { msn: edge.msn + 2 },
      signal: aborter.signal,
    });
    aborter.abort(new Error('viewer cut'));
    await expect(aborted).rejects.toThrow('viewer cut');
    for (const unit of units.slice(half)) stream.write(unit);
    const after = parseMediaPlaylist(await waiting);
    expect(after.segments.some((s) => s.msn === edge.msn + 1 && s.parts.length > 0)).toBe(true);
  });

  it('keeps its window across a restart: the next process serves it and continues it', async () => {
    const { stream, output, media } = await started();
    for (const unit of flvUnits(3)) stream.write(unit);
    await output.stop('shutdown');
    const before = parseMediaPlaylist(await playlistOf(media));
    const window = RenditionWindow.restore(
      JSON.parse(JSON.stringify((await windowOf(media)).snapshot())),
      {
        partTargetSec: 0.2,
        segmentTargetSec: 1,
        playlistSize: 20,
        extraSegments: 2,
      },
    );
    const restored = parseMediaPlaylist(await window.playlist({}));
    expect(restored.segments.map((s) => s.uri)).toEqual(before.segments.map((s) => s.uri));
    const uri = before.segments[0]!.uri!;
    expect(Buffer.from(await window.media(uri))).toEqual(Buffer.from(await media.media(path, uri)));
  });
});

/** The packaged window of the test stream. */
async function windowOf(media: PackagedMedia): Promise<RenditionWindow> {
  return media.windowOf(path, 'copy')!;
}
