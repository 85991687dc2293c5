import type { RenditionConfig } from '../../config/schema.js';
import type { InputTracks } from '../../media/media-unit.js';
import { encodePlan, inputArgs, x264Args } from './ffmpeg-args.js';

export interface EncoderArgsInput {
  /** Container on stdin: FLV from the stream hub, or a WebSocket publisher's WebM/MP4. */
  inputFormat?: 'flv' | 'matroska' | 'mp4';
  renditions: readonly RenditionConfig[];
  segmentSec: number;
  tracks: InputTracks;
  /** A copy rendition may pass the video through (default: when it is H.264). */
  videoCopyable?: boolean;
  /** Bytes FFmpeg may read to find the streams (FLV input). */
  probeBytes: number;
}

/** The first file descriptor FFmpeg writes renditions to: fd 3 is the first rendition's. */
export const FIRST_RENDITION_FD = 3;

/**
 * FFmpeg as an encoder for the packager: each rendition comes out as its own FLV (H.264 + AAC) on
 * its own pipe, fd 3 on, and the packager makes the HLS. The source is decoded once and scaled for
 * each rung. Key frames line the renditions up: with a copied rendition, every rung takes a key
 * frame exactly where the source has one (the copy can be cut nowhere else); with none, every
 * `segmentSec`. Packets are flushed as they are made (no muxer buffering: parts are 200 ms).
 */
export function buildEncoderArgs(input: EncoderArgsInput): string[] {
  const { renditions, segmentSec, tracks } = input;
  const args = inputArgs(input);
  const copyable = input.videoCopyable ?? tracks.videoIsH264;
  const { encoded, filter } = encodePlan(renditions, copyable);
  if (filter) args.push('-filter_complex', filter);
  const copied = encoded.length < renditions.length;
  const keyFrames = copied ? 'source' : `expr:gte(t,n_forced*${segmentSec})`;
  renditions.forEach((rendition, i) => {
    const encodeIndex = encoded.indexOf(rendition);
    if (encodeIndex < 0) args.push('-map', '0:v:0', '-c:v', 'copy');
    else {
      args.push('-map', `[v${encodeIndex}]`, ...x264Args(rendition, ':v', keyFrames));
      // Only forced key frames: one of libx264's own (every 250 frames) would cut one rung alone.
      args.push('-g:v', copied ? '100000' : String(Math.max(250, Math.ceil(segmentSec * 120))));
    }
    if (tracks.hasAudio) {
      args.push('-map', '0:a:0');
      if (tracks.audioIsAac) args.push('-c:a', 'copy');
      else
        args.push(
          '-c:a',
          'aac',
          '-b:a',
          `${'copy' in rendition ? 128 : rendition.audioBitrateKbps}k`,
        );
    }
    args.push('-flush_packets', '1', '-f', 'flv', `pipe:${FIRST_RENDITION_FD + i}`);
  });
  return args;
}
