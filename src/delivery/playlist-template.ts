/** Which pass a URI of a playlist carries: playlists and keys go to the origin, the rest may be cached. */
export type PassSlot = 'playlist' | 'segment';

/**
 * A playlist cut once, where passes go: `parts` are fixed text, and between each two a pass is put
 * (`slots[i]` says which). Serving it to a viewer is a join, with no parsing or regex per request.
 */
export interface PlaylistTemplate {
  readonly parts: readonly string[];
  readonly slots: readonly PassSlot[];
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i;

/**
 * Cuts a playlist at every URI it names (variant and segment lines, and the URI="…" attribute of
 * EXT-X-KEY, EXT-X-MAP, EXT-X-MEDIA and the like), each to get `param=<pass>` appended.
 * Absolute URIs are not ours and stay as they are.
 */
export function preparePlaylist(text: string, param: string): PlaylistTemplate {
  const parts: string[] = [];
  const slots: PassSlot[] = [];
  let pending = '';
  const cut = (uri: string): string => {
    if (uri === '' || ABSOLUTE.test(uri)) return uri;
    parts.push(`${pending}${uri}${uri.includes('?') ? '&' : '?'}${param}=`);
    slots.push(slotOf(uri));
    pending = '';
    return '';
  };
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('#')) {
      let last = 0;
      for (const match of line.matchAll(/URI="([^"]*)"/g)) {
        const start = match.index + 'URI="'.length;
        pending += line.slice(last, start);
        const rest = cut(match[1]!); // empties `pending` when the URI is ours
        pending += rest;
        last = start + match[1]!.length;
      }
      pending += line.slice(last);
    } else if (line.trim() !== '') {
      const rest = cut(line.trim());
      pending += rest;
    } else pending += line;
    if (i < lines.length - 1) pending += '\n';
  });
  parts.push(pending);
  return { parts, slots };
}

/**
 * The template with a viewer's passes put in; `cdn`, when given, is a CDN's own token (query
 * parameters) put after the segment pass on segment, init and part URIs.
 */
export function renderPlaylist(
  template: PlaylistTemplate,
  passes: { playlist: string; segment: string; cdn?: string | undefined },
): string {
  const { parts, slots } = template;
  const segment = passes.cdn ? `${passes.segment}&${passes.cdn}` : passes.segment;
  let out = parts[0]!;
  for (let i = 0; i < slots.length; i++)
    out += (slots[i] === 'playlist' ? passes.playlist : segment) + parts[i + 1]!;
  return out;
}

/** The playlist as it was, with no pass put in (for a reader that authorises otherwise). */
export function renderWithoutPasses(template: PlaylistTemplate): string {
  const { parts, slots } = template;
  return parts
    .map((part, i) => (i < slots.length ? part.replace(/[?&][^?&=]+=$/, '') : part))
    .join('');
}

function slotOf(uri: string): PassSlot {
  const path = uri.split('?')[0]!;
  return path.endsWith('.m3u8') || path.endsWith('.key') ? 'playlist' : 'segment';
}
