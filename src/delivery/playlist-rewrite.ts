/**
 * Adds the viewer's pass to every URI of an HLS playlist: variant and segment lines, and the
 * URI="…" attribute of EXT-X-KEY, EXT-X-MAP, EXT-X-MEDIA and the like. A stock player then
 * carries the authorisation on every request without knowing anything about it.
 */
export function rewritePlaylist(text: string, param: string, value: string): string {
  const append = (uri: string): string => {
    if (uri === '' || /^[a-z][a-z0-9+.-]*:/i.test(uri)) return uri; // absolute URIs are not ours
    return `${uri}${uri.includes('?') ? '&' : '?'}${param}=${encodeURIComponent(value)}`;
  };
  return text
    .split('\n')
    .map((raw) => {
      const line = raw.replace(/\r$/, '');
      if (line.startsWith('#'))
        return line.replace(/URI="([^"]*)"/g, (_, uri: string) => `URI="${append(uri)}"`);
      return line.trim() === '' ? line : append(line.trim());
    })
    .join('\n');
}
