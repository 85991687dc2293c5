import { join } from 'node:path';
import type { StreamPath } from './stream-path.js';

/**
 * The one place that owns how a stream's media is named: `<app>/<stream>/<file>`, on disk under
 * the media root and in URLs (`/<app>/<stream>/<file>`), and which file names a viewer may ask for.
 */

/** Files a viewer may ask for: playlists, segments (and init segments, parts) and keys, by plain name. */
const MEDIA_FILE = /^[A-Za-z0-9_-]{1,64}\.(m3u8|ts|m4s|mp4|key)$/;

export type MediaKind = 'playlist' | 'segment' | 'key';

/** What a file name serves, or undefined for a name no viewer may ask for. */
export function mediaKindOf(file: string): MediaKind | undefined {
  const ext = MEDIA_FILE.exec(file)?.[1];
  if (!ext) return undefined;
  return ext === 'm3u8' ? 'playlist' : ext === 'key' ? 'key' : 'segment';
}

/** A stream's directory on disk: `<root>/<app>/<stream>`. */
export function streamDirOnDisk(root: string, stream: StreamPath): string {
  return join(root, stream.app, stream.name);
}

/** A stream's directory in URLs, as a segment pass binds it: `/<app>/<stream>/`. */
export function streamDirInUrl(stream: StreamPath): string {
  return `/${stream.app}/${stream.name}/`;
}
