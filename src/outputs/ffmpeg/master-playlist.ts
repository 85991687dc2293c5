import type { RenditionConfig } from '../../config/schema.js';
import { renditionPlaylist } from './ffmpeg-args.js';

export interface SourceInfo {
  width?: number | undefined;
  height?: number | undefined;
  /** Publisher bitrate (video + audio), bits per second, when known. */
  bitrate?: number | undefined;
  /** RFC 6381 codec of the source video, e.g. `avc1.64001f`, when known. */
  videoCodec?: string | undefined;
  hasAudio: boolean;
}

const DEFAULT_COPY_BITRATE = 5_000_000;

/** The master playlist Stagedoor writes itself: FFmpeg cannot know a copy rendition's bitrate. */
export function buildMasterPlaylist(
  renditions: readonly RenditionConfig[],
  source: SourceInfo,
): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const rendition of renditions) {
    const attributes: string[] = [];
    let codecs: string[] = [];
    if ('copy' in rendition) {
      attributes.push(`BANDWIDTH=${Math.round(source.bitrate ?? DEFAULT_COPY_BITRATE)}`);
      if (source.width && source.height)
        attributes.push(`RESOLUTION=${source.width}x${source.height}`);
      if (source.videoCodec) codecs = [source.videoCodec];
    } else {
      const audio = source.hasAudio ? rendition.audioBitrateKbps : 0;
      attributes.push(`BANDWIDTH=${Math.round((rendition.videoBitrateKbps * 1.1 + audio) * 1000)}`);
      if (source.width && source.height) {
        const width = Math.round((source.width * rendition.height) / source.height / 2) * 2;
        attributes.push(`RESOLUTION=${width}x${rendition.height}`);
      }
      codecs = ['avc1.64001f'];
    }
    if (codecs.length > 0 && source.hasAudio) codecs.push('mp4a.40.2');
    if (codecs.length > 0) attributes.push(`CODECS="${codecs.join(',')}"`);
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, renditionPlaylist(rendition.name));
  }
  return `${lines.join('\n')}\n`;
}

/** `avc1.PPCCLL` from an AVCDecoderConfigurationRecord (version 1, profile, compatibility, level). */
export function avcCodecString(record: Buffer): string | undefined {
  if (record.length < 4 || record[0] !== 1) return undefined;
  const hex = (b: number) => b.toString(16).padStart(2, '0');
  return `avc1.${hex(record[1]!)}${hex(record[2]!)}${hex(record[3]!)}`;
}
