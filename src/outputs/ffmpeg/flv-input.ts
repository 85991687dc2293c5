// What FFmpeg needs to know about a stream fed to it as FLV (units from RTMP or WebSocket FLV): the
// bytes it must probe, and what the master playlist says of the source.
import type { StreamHeaders } from '../../media/live-stream.js';
import { flvTag } from '../../formats/flv/flv-mux.js';
import { avcCodecString, type SourceInfo } from './master-playlist.js';

/** Bytes FFmpeg should probe: the FLV header, the header tags, and a margin. */
export function flvHeaderBytes({ metadata, audio, video }: StreamHeaders): number {
  return 13 + [metadata, audio, video].reduce((sum, u) => sum + (u ? flvTag(u).length : 0), 0) + 64;
}

/** Size, bitrate and codec of the source for the master playlist: metadata when declared, else measured. */
export function sourceInfo(
  { metadata, video, audio }: StreamHeaders,
  measuredBitrate: number,
): SourceInfo {
  const declared =
    (metadata?.number('videodatarate') ?? 0) + (metadata?.number('audiodatarate') ?? 0);
  return {
    width: metadata?.number('width'),
    height: metadata?.number('height'),
    bitrate: Math.max(declared * 1000, measuredBitrate) || undefined,
    videoCodec: video?.codec === 'h264' ? avcCodecString(video.payload) : undefined,
    hasAudio: audio !== null,
  };
}
