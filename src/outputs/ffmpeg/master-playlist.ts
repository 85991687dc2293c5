import type { RenditionConfig } from '../../config/schema.js';
import { renditionPlaylist } from './ffmpeg-args.js';
import {
  avcCodecString,
  renderMasterPlaylist,
  type Variant,
} from '../../formats/hls/master-playlist.js';

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
  const variants: Variant[] = renditions.map((rendition) => {
    const uri = renditionPlaylist(rendition.name);
    let variant: Variant;
    if ('copy' in rendition) {
      variant = {
        uri,
        bandwidth: source.bitrate ?? DEFAULT_COPY_BITRATE,
        width: source.width,
        height: source.height,
        codecs: source.videoCodec ? [source.videoCodec] : [],
      };
    } else {
      const audio = source.hasAudio ? rendition.audioBitrateKbps : 0;
      const scaled =
        source.width && source.height
          ? Math.round((source.width * rendition.height) / source.height / 2) * 2
          : undefined;
      variant = {
        uri,
        bandwidth: (rendition.videoBitrateKbps * 1.1 + audio) * 1000,
        width: scaled,
        height: scaled === undefined ? undefined : rendition.height,
        codecs: ['avc1.64001f'],
      };
    }
    if (variant.codecs!.length > 0 && source.hasAudio)
      variant.codecs = [...variant.codecs!, 'mp4a.40.2'];
    return variant;
  });
  return renderMasterPlaylist(variants);
}

export { avcCodecString };
