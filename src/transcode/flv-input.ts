// What the transcoder needs to know about an FLV input (RTMP, WebSocket FLV): the tracks from the
// codec headers, the bytes FFmpeg must probe, and what the master playlist says of the source.
// The one place under transcode/ that reads FLV codec ids and AMF metadata.
import type { MediaPacket } from '../media/media-packet.js';
import { decodeAmf0Data, Flv } from '../ingest/rtmp/nms.js';
import type { InputTracks } from './ffmpeg-args.js';
import { avcCodecString, type SourceInfo } from './master-playlist.js';

/** A live stream's FLV codec headers and metadata, once seen. */
export interface FlvHeaders {
  metadata: MediaPacket | null;
  audio: MediaPacket | null;
  video: MediaPacket | null;
}

const FLV_CODEC_H264 = 7;
const FLV_CODEC_AAC = 10;

export function flvTracks({ audio, video }: FlvHeaders): InputTracks {
  return {
    hasAudio: audio !== null,
    videoIsH264: video !== null && video.av.codec_id === FLV_CODEC_H264,
    audioIsAac: audio !== null && audio.av.codec_id === FLV_CODEC_AAC,
  };
}

/** Bytes FFmpeg should probe: the FLV header, the header tags, and a margin. */
export function flvHeaderBytes({ metadata, audio, video }: FlvHeaders): number {
  return 13 + [metadata, audio, video].reduce((sum, p) => sum + (p ? p.flvTag.length : 0), 0) + 64;
}

/** The FLV file header FFmpeg's stdin starts with. */
export function flvFileHeader(hasAudio: boolean): Buffer {
  return Flv.createHeader(hasAudio, true);
}

/** Size, bitrate and codec of the source for the master playlist: metadata when declared, else measured. */
export function flvSourceInfo(
  { metadata, video, audio }: FlvHeaders,
  measuredBitrate: number,
): SourceInfo {
  let meta: Record<string, unknown> = {};
  try {
    meta = (metadata ? decodeAmf0Data(metadata.av.data).dataObj : null) ?? {};
  } catch {
    /* metadata is advisory */
  }
  const num = (v: unknown): number | undefined =>
    typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
  const declared = (num(meta.videodatarate) ?? 0) + (num(meta.audiodatarate) ?? 0);
  return {
    width: num(meta.width),
    height: num(meta.height),
    bitrate: Math.max(declared * 1000, measuredBitrate) || undefined,
    videoCodec: video ? avcCodecString(video.av.data) : undefined,
    hasAudio: audio !== null,
  };
}
