import { lstat, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { StagedoorError } from '../errors.js';
import { isValidName } from '../core/stream-path.js';
import { mediaKindOf, streamDirOnDisk } from '../core/media-layout.js';

/**
 * Resolves `<root>/<app>/<stream>/<file>` and proves the result is a regular file inside the
 * media root: names are checked against strict patterns (no `..`, no separators, no encoded
 * tricks survive them) and the real path, symlinks followed, must stay under the real root.
 * Throws NOT_FOUND for anything else, so a probe learns nothing about the disk.
 */
export async function resolveMediaFile(
  root: string,
  app: string,
  stream: string,
  file: string,
): Promise<string> {
  if (!isValidName(app) || !isValidName(stream) || !mediaKindOf(file))
    throw new StagedoorError('NOT_FOUND');
  try {
    const realRoot = await realpath(root);
    const real = await realpath(join(streamDirOnDisk(realRoot, { app, name: stream }), file));
    if (!real.startsWith(realRoot + sep)) throw new StagedoorError('NOT_FOUND');
    if (!(await lstat(real)).isFile()) throw new StagedoorError('NOT_FOUND');
    return real;
  } catch (error) {
    if (error instanceof StagedoorError) throw error;
    throw new StagedoorError('NOT_FOUND', undefined, { cause: error });
  }
}

const RESOLUTION_TTL_MS = 1000;
const MAX_RESOLUTIONS = 10_000;

/**
 * resolveMediaFile for one media root, remembering each answer for a second: every viewer asks
 * for the same few files, and a resolution costs two realpath calls and an lstat on libuv's thread
 * pool. Failures are not remembered.
 */
export class MediaPathResolver {
  readonly #root: string;
  readonly #resolved = new Map<string, { real: string; until: number }>();

  constructor(root: string) {
    this.#root = root;
  }

  async resolve(app: string, stream: string, file: string, now = Date.now()): Promise<string> {
    const key = `${app}/${stream}/${file}`;
    const cached = this.#resolved.get(key);
    if (cached && cached.until > now) return cached.real;
    this.#resolved.delete(key);
    const real = await resolveMediaFile(this.#root, app, stream, file);
    this.#resolved.set(key, { real, until: now + RESOLUTION_TTL_MS });
    if (this.#resolved.size > MAX_RESOLUTIONS)
      this.#resolved.delete(this.#resolved.keys().next().value as string);
    return real;
  }
}
