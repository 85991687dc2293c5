import { lstat, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { StagedoorError } from '../errors.js';
import { isValidName } from '../auth/stream-path.js';

/** Files a viewer may ask for: playlists, segments and keys, by plain name only. */
const FILE = /^[A-Za-z0-9_-]{1,64}\.(m3u8|ts|m4s|mp4|key)$/;

export type MediaKind = 'playlist' | 'segment' | 'key';

export function mediaKindOf(file: string): MediaKind | undefined {
  const ext = FILE.exec(file)?.[1];
  if (!ext) return undefined;
  return ext === 'm3u8' ? 'playlist' : ext === 'key' ? 'key' : 'segment';
}

/**
 * Resolves `<root>/<app>/<stream>/<file>` and proves the result is a regular file inside the
 * media root: names are checked against strict patterns (no `..`, no separators, no encoded
 * tricks survive them) and the real path, symlinks followed, must stay under the real root.
 * Throws NOT_FOUND for anything else, so a probe learns nothing about the disk.
 */
export async function resolveMediaFile(root: string, app: string, stream: string, file: string, now = Date.now()): Promise<string> {
  if (!isValidName(app) || !isValidName(stream) || !mediaKindOf(file)) throw new StagedoorError('NOT_FOUND');
  // Every viewer asks for the same few files: a resolution is reused for a moment instead of
  // costing two realpath calls and an lstat (thread-pool work) per request.
  const key = `${root}\0${app}/${stream}/${file}`;
  const cached = resolved.get(key);
  if (cached && cached.until > now) return cached.real;
  try {
    const realRoot = await realpath(root);
    const real = await realpath(join(realRoot, app, stream, file));
    if (!real.startsWith(realRoot + sep)) throw new StagedoorError('NOT_FOUND');
    if (!(await lstat(real)).isFile()) throw new StagedoorError('NOT_FOUND');
    resolved.set(key, { real, until: now + RESOLUTION_TTL_MS });
    if (resolved.size > MAX_RESOLUTIONS) resolved.delete(resolved.keys().next().value as string);
    return real;
  } catch (error) {
    resolved.delete(key);
    if (error instanceof StagedoorError) throw error;
    throw new StagedoorError('NOT_FOUND', undefined, { cause: error });
  }
}

const RESOLUTION_TTL_MS = 1000;
const MAX_RESOLUTIONS = 10_000;
const resolved = new Map<string, { real: string; until: number }>();
