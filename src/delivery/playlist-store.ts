import { statSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { preparePlaylist, type PlaylistTemplate } from './playlist-template.js';

const MAX_PLAYLISTS = 10_000;

interface Entry {
  template: PlaylistTemplate;
  /** The file's version this template was read at; stale once an event moved it on. */
  version: number;
}

/**
 * Each rendition's current playlist, in memory and cut into a template once per version. Every
 * stream directory served is watched (inotify): FFmpeg renaming a new version into place, or the
 * file going away, drops the template, and the next request reads the file once more. Between
 * versions, a viewer's request is a join: no file system call, no parsing.
 */
export class PlaylistStore {
  readonly #entries = new Map<string, Entry>();
  /**
   * Per playlist asked for: bumped by every change event, so a read that raced a change is not
   * trusted. Only playlists are counted (segments come and go in the same directories), and a
   * directory's are forgotten with it. Versions come from one clock, so a forgotten path asked for
   * again never gets a version an older read still holds.
   */
  readonly #versions = new Map<string, number>();
  #clock = 0;
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #reading = new Map<string, Promise<PlaylistTemplate>>();
  readonly #param: string;

  constructor(param: string) {
    this.#param = param;
  }

  get(path: string): Promise<PlaylistTemplate> {
    let version = this.#versions.get(path);
    if (version === undefined) this.#versions.set(path, (version = ++this.#clock));
    const cached = this.#entries.get(path);
    if (cached && cached.version === version) return Promise.resolve(cached.template);
    // Every viewer asks right after a new version: one read for all of them.
    const key = `${version}:${path}`;
    let reading = this.#reading.get(key);
    if (!reading) {
      reading = this.#read(path, version).finally(() => this.#reading.delete(key));
      this.#reading.set(key, reading);
    }
    return reading;
  }

  async #read(path: string, version: number): Promise<PlaylistTemplate> {
    const watching = this.#watch(dirname(path));
    const template = preparePlaylist(await readFile(path, 'utf8'), this.#param);
    // Unwatched (the watcher could not start): never trusted past this request.
    if (watching && this.#versions.get(path) === version) {
      this.#entries.delete(path);
      this.#entries.set(path, { template, version });
      if (this.#entries.size > MAX_PLAYLISTS) {
        const oldest = this.#entries.keys().next().value as string;
        this.#entries.delete(oldest);
        this.#versions.delete(oldest);
      }
    }
    return template;
  }

  /** Stops watching every directory. */
  close(): void {
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    this.#entries.clear();
    this.#versions.clear();
  }

  #changed(path: string): void {
    const version = this.#versions.get(path);
    if (version === undefined) return; // a segment, or a playlist nobody asked for
    this.#versions.set(path, ++this.#clock);
    this.#entries.delete(path);
  }

  /** Watches a stream directory once; false when it cannot be watched. */
  #watch(dir: string): boolean {
    if (this.#watchers.has(dir)) return true;
    let watcher: FSWatcher;
    let inode: number;
    try {
      inode = statSync(dir).ino;
      watcher = watch(dir, { persistent: false }, (event, file) => {
        if (file === null) return this.#forgetDir(dir); // events were lost: trust nothing here
        this.#changed(`${dir}/${basename(file.toString())}`);
        // The directory itself removed or replaced (a stream's files cleaned up, then published
        // again): this watcher sees no more of it.
        if (event === 'rename' && !sameDirectory(dir, inode)) this.#forgetDir(dir);
      });
    } catch {
      return false;
    }
    // The directory went away (the stream's files removed): forget it; a new one is watched anew.
    watcher.on('error', () => this.#forgetDir(dir));
    watcher.on('close', () => this.#forgetDir(dir));
    this.#watchers.set(dir, watcher);
    return true;
  }

  #forgetDir(dir: string): void {
    const watcher = this.#watchers.get(dir);
    if (!watcher) return;
    this.#watchers.delete(dir);
    watcher.close();
    for (const path of [...this.#versions.keys()]) {
      if (dirname(path) !== dir) continue;
      this.#versions.delete(path); // a read in flight no longer matches: it is not kept
      this.#entries.delete(path);
    }
  }
}

function sameDirectory(dir: string, inode: number): boolean {
  try {
    return statSync(dir).ino === inode;
  } catch {
    return false;
  }
}
