import { readFile, stat } from 'node:fs/promises';
import { preparePlaylist, type PlaylistTemplate } from './playlist-template.js';

/** A playlist is trusted this long before its file is looked at again. */
const RECHECK_MS = 100;
const MAX_PLAYLISTS = 10_000;

/**
 * Each rendition's current playlist, in memory and cut into a template once per version. FFmpeg
 * renames a new version into place; a file is looked at again (one stat) at most every 100 ms, and
 * read and prepared only when its mtime or size changed. Every viewer's request in between is a join.
 */
export class PlaylistStore {
  readonly #entries = new Map<
    string,
    { template: PlaylistTemplate; mtimeMs: number; size: number; checkedAt: number }
  >();
  readonly #param: string;

  constructor(param: string) {
    this.#param = param;
  }

  async get(path: string, now = Date.now()): Promise<PlaylistTemplate> {
    const cached = this.#entries.get(path);
    if (cached && now - cached.checkedAt < RECHECK_MS) return cached.template;
    const info = await stat(path);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) {
      cached.checkedAt = now;
      return cached.template;
    }
    const template = preparePlaylist(await readFile(path, 'utf8'), this.#param);
    this.#entries.delete(path);
    this.#entries.set(path, { template, mtimeMs: info.mtimeMs, size: info.size, checkedAt: now });
    if (this.#entries.size > MAX_PLAYLISTS)
      this.#entries.delete(this.#entries.keys().next().value as string);
    return template;
  }
}
