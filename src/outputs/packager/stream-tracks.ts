import type { StreamHeaders } from '../../media/live-stream.js';
import type { AccessUnit } from '../../media/media-unit.js';
import { parseAvcConfig } from '../../formats/h264/avc-config.js';
import { parseAacConfig } from '../../formats/aac/audio-specific-config.js';
import type { CmafAudioTrack, CmafVideoTrack } from '../../formats/cmaf/cmaf-track.js';
import { aacCodecString, avcCodecString } from '../../formats/hls/master-playlist.js';

// The tracks a packaged stream's init segment declares, from its decoder configurations.

export const VIDEO_TIMESCALE = 90_000;

export interface StreamTracks {
  video: CmafVideoTrack | undefined;
  audio: (CmafAudioTrack & { samplesPerFrame: number }) | undefined;
  /** RFC 6381 codecs for the master playlist. */
  codecs: string[];
}

/** What the packager makes of these decoder configurations, or why it cannot take them. */
export function streamTracks(
  headers: Pick<StreamHeaders, 'audio' | 'video' | 'metadata'>,
): StreamTracks | { refused: string } {
  const { video, audio, metadata } = headers;
  if (!video && !audio) return { refused: 'no decoder configuration yet' };
  const tracks: StreamTracks = { video: undefined, audio: undefined, codecs: [] };
  if (video) {
    const made = videoTrack(video, metadata?.number('width'), metadata?.number('height'));
    if ('refused' in made) return made;
    tracks.video = made;
    tracks.codecs.push(avcCodecString(video.payload)!);
  }
  if (audio) {
    if (audio.codec !== 'aac') return { refused: `audio codec ${audio.codec}` };
    const config = parseAacConfig(audio.payload);
    if (!config) return { refused: 'an unreadable AAC configuration' };
    tracks.audio = {
      kind: 'audio',
      id: video ? 2 : 1,
      codec: 'aac',
      timescale: config.sampleRate,
      config: audio.payload,
      sampleRate: config.sampleRate,
      channels: config.channels,
      samplesPerFrame: config.samplesPerFrame,
    };
    tracks.codecs.push(aacCodecString(config.objectType));
  }
  return tracks;
}

function videoTrack(
  video: AccessUnit,
  declaredWidth: number | undefined,
  declaredHeight: number | undefined,
): CmafVideoTrack | { refused: string } {
  if (video.codec !== 'h264') return { refused: `video codec ${video.codec}` };
  const format = parseAvcConfig(video.payload);
  if (!format || !avcCodecString(video.payload))
    return { refused: 'an unreadable H.264 configuration' };
  return {
    kind: 'video',
    id: 1,
    codec: 'h264',
    timescale: VIDEO_TIMESCALE,
    config: video.payload,
    width: format.width ?? declaredWidth ?? 0,
    height: format.height ?? declaredHeight ?? 0,
  };
}
