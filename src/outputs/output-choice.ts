import type { Config } from '../config/schema.js';
import type { StreamHeaders } from '../media/live-stream.js';
import { copyDecision } from './copy-check.js';
import { streamTracks } from './packager/stream-tracks.js';

/**
 * Whether the in-process packager can make a stream's HLS from its decoder configurations: a
 * passthrough (one copy rendition, no AES-128) of H.264 4:2:0 8-bit and/or AAC. Else FFmpeg must,
 * and `why` says so.
 */
export function packagerFits(
  hls: Pick<Config['hls'], 'packager' | 'renditions' | 'encryption'>,
  headers: StreamHeaders,
): { fits: true } | { fits: false; why: string } {
  if (!hls.packager.enabled) return { fits: false, why: 'hls.packager.enabled is false' };
  if (hls.renditions.length !== 1 || !('copy' in hls.renditions[0]!))
    return { fits: false, why: 'the renditions are encoded (a ladder)' };
  if (hls.encryption.enabled) return { fits: false, why: 'hls.encryption is on' };
  if (headers.video && !copyDecision(headers.video).copyable)
    return { fits: false, why: `the video (${headers.video.codec}) must be encoded to play` };
  const tracks = streamTracks(headers);
  if ('refused' in tracks) return { fits: false, why: tracks.refused };
  return { fits: true };
}

/** The first unit after which a stream's codecs are known: a key frame, or audio of a stream without video. */
export function codecsKnownAt(
  unit: { kind: string; track?: string; key?: boolean; config?: boolean },
  headers: StreamHeaders,
): boolean {
  if (unit.kind !== 'access-unit' || unit.config) return false;
  if (unit.track === 'video') return unit.key === true;
  const declaresVideo = headers.metadata?.values.videocodecid !== undefined;
  return headers.video === null && !declaresVideo;
}

/**
 * Where FFmpeg's renditions go when FFmpeg must encode: the packager, unless it is off or AES-128
 * is on (FFmpeg's own encrypted MPEG-TS HLS files then).
 */
export function encoderDestination(
  hls: Pick<Config['hls'], 'packager' | 'encryption'>,
): { to: 'packager' } | { to: 'files'; why: string } {
  if (!hls.packager.enabled) return { to: 'files', why: 'hls.packager.enabled is false' };
  if (hls.encryption.enabled) return { to: 'files', why: 'hls.encryption is on' };
  return { to: 'packager' };
}
