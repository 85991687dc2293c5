import { preparePlaylist, renderPlaylist } from './playlist-template.js';

/**
 * Adds one pass to every URI of an HLS playlist: variant and segment lines, and the URI="…"
 * attribute of EXT-X-KEY, EXT-X-MAP, EXT-X-MEDIA and the like. A stock player then carries the
 * authorisation on every request without knowing anything about it.
 */
export function rewritePlaylist(text: string, param: string, value: string): string {
  const pass = encodeURIComponent(value);
  return renderPlaylist(preparePlaylist(text, param), { playlist: pass, segment: pass });
}
