import { join } from 'node:path';
import type { RenditionConfig } from '../../config/schema.js';
import type { InputTracks } from '../../media/media-unit.js';

// The copy rendition can only pass H.264 (and AAC) through; other codecs are re-encoded for it.
export type { InputTracks };

export interface FfmpegArgsInput {
  /** Container on stdin: FLV from the stream hub (RTMP, WebSocket FLV), or raw WebSocket bytes. */
  inputFormat?: 'flv' | 'matroska' | 'mp4';
  outputDir: string;
  renditions: readonly RenditionConfig[];
  segmentSec: number;
  playlistSize: number;
  tracks: InputTracks;
  /** A copy rendition may pass the video through (default: when it is H.264). */
  videoCopyable?: boolean;
  /** Restarting after a crash: continue the playlists with a discontinuity instead of rewriting them. */
  append: boolean;
  /** Bytes FFmpeg may read to find the streams: the FLV header tags it is fed first, plus a margin. */
  probeBytes: number;
  /** `-hls_key_info_file` path when AES-128 is on. */
  keyInfoFile?: string | undefined;
}

/** Media playlist of a rendition, relative to the stream directory. */
export const renditionPlaylist = (name: string): string => `${name}.m3u8`;

/**
 * The FFmpeg argument array for one live stream: FLV on stdin, one HLS media playlist per
 * rendition, every libx264 rung scaled from a single decode (split filter) with key frames forced
 * on segment boundaries so renditions stay aligned. Pure: same input, same array; no shell ever.
 */
export function buildFfmpegArgs(input: FfmpegArgsInput): string[] {
  const { renditions, segmentSec, tracks } = input;
  const args = inputArgs(input);
  const { encoded, filter } = encodePlan(renditions, input.videoCopyable ?? tracks.videoIsH264);
  if (filter) args.push('-filter_complex', filter);

  const streamMap: string[] = [];
  renditions.forEach((rendition, i) => {
    const encodeIndex = encoded.indexOf(rendition);
    if (encodeIndex < 0) {
      args.push('-map', '0:v:0', `-c:v:${i}`, 'copy');
    } else {
      args.push(
        '-map',
        `[v${encodeIndex}]`,
        ...x264Args(rendition, `:v:${i}`, `expr:gte(t,n_forced*${segmentSec})`),
      );
    }
    if (tracks.hasAudio) {
      args.push('-map', '0:a:0');
      if (tracks.audioIsAac) args.push(`-c:a:${i}`, 'copy');
      else
        args.push(
          `-c:a:${i}`,
          'aac',
          `-b:a:${i}`,
          `${'copy' in rendition ? 128 : rendition.audioBitrateKbps}k`,
        );
    }
    streamMap.push(
      tracks.hasAudio ? `v:${i},a:${i},name:${rendition.name}` : `v:${i},name:${rendition.name}`,
    );
  });

  const flags = ['delete_segments', 'independent_segments', 'temp_file', 'program_date_time'];
  // append_list continues numbering and marks the join with #EXT-X-DISCONTINUITY.
  if (input.append) flags.push('append_list');
  if (input.keyInfoFile) flags.push('periodic_rekey');
  args.push(
    '-f',
    'hls',
    '-hls_time',
    String(segmentSec),
    '-hls_list_size',
    String(input.playlistSize),
    '-hls_delete_threshold',
    '2',
    '-hls_flags',
    flags.join('+'),
    '-hls_segment_type',
    'mpegts',
    '-hls_segment_filename',
    join(input.outputDir, '%v_%05d.ts'),
  );
  if (input.keyInfoFile) args.push('-hls_key_info_file', input.keyInfoFile);
  args.push('-var_stream_map', streamMap.join(' '), join(input.outputDir, '%v.m3u8'));
  return args;
}

/** What every FFmpeg run starts with: progress on stdout, the publisher's container on stdin. */
export function inputArgs(input: Pick<FfmpegArgsInput, 'inputFormat' | 'probeBytes'>): string[] {
  const format = input.inputFormat ?? 'flv';
  // The FLV on stdin starts with metadata and both codec headers, so FFmpeg needs to probe no
  // further than those: this saves ~300 ms from publish to first playlist. Browser containers
  // (WebM from MediaRecorder, fragmented MP4) are probed normally.
  const probe =
    format === 'flv'
      ? ['-probesize', String(Math.max(32, input.probeBytes)), '-analyzeduration', '0']
      : ['-probesize', '5000000', '-analyzeduration', '1500000'];
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'warning',
    // fps, speed, dropped and duplicated frames each second, on stdout (ffmpeg-progress.ts).
    '-progress',
    'pipe:1',
    '-stats_period',
    '1',
    '-fflags',
    '+genpts',
    ...probe,
    '-f',
    format,
    '-i',
    'pipe:0',
  ];
}

/**
 * The renditions FFmpeg encodes (a copy rendition too when the source cannot be copied), and the
 * filter that decodes the source once and scales it for each: `[v<n>]` is the n-th encoded one.
 */
export function encodePlan(
  renditions: readonly RenditionConfig[],
  copyable: boolean,
): { encoded: RenditionConfig[]; filter: string | undefined } {
  const encoded = renditions.filter((r) => !('copy' in r) || !copyable);
  if (encoded.length === 0) return { encoded, filter: undefined };
  const labels = encoded.map((_, i) => `[s${i}]`);
  const split =
    encoded.length === 1 ? '[0:v:0]null[s0]' : `[0:v:0]split=${encoded.length}${labels.join('')}`;
  const scales = encoded.map((r, i) =>
    'copy' in r ? `[s${i}]null[v${i}]` : `[s${i}]scale=-2:${r.height}[v${i}]`,
  );
  return { encoded, filter: [split, ...scales].join(';') };
}

/**
 * libx264 for one rendition (`specifier`: `:v:<n>` within a multi-stream output, `''` alone in its
 * own), key frames forced by `keyFrames` and never on scene cuts, so that renditions stay aligned.
 */
export function x264Args(
  rendition: RenditionConfig,
  specifier: string,
  keyFrames: string,
): string[] {
  const kbps = 'copy' in rendition ? 4000 : rendition.videoBitrateKbps;
  const preset = 'copy' in rendition ? 'veryfast' : rendition.preset;
  return [
    `-c${specifier}`,
    'libx264',
    `-preset${specifier}`,
    preset,
    `-tune${specifier}`,
    'zerolatency',
    `-pix_fmt${specifier}`,
    'yuv420p',
    `-b${specifier}`,
    `${kbps}k`,
    `-maxrate${specifier}`,
    `${Math.round(kbps * 1.1)}k`,
    `-bufsize${specifier}`,
    `${kbps * 2}k`,
    `-force_key_frames${specifier}`,
    keyFrames,
    `-sc_threshold${specifier}`,
    '0',
  ];
}
