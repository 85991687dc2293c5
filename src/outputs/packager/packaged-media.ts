import { StagedoorError } from '../../errors.js';
import { formatStreamPath, type StreamPath } from '../../core/stream-path.js';
import type { RenditionWindow } from './rendition-window.js';

/** A playlist request as delivery asks it: a blocking reload position, a delta update. */
export interface PackagedPlaylistRequest {
  at?: { msn: number; part?: number | undefined } | undefined;
  skip?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

interface Entry {
  owner: object;
  master: string | undefined;
  windows: Map<string, RenditionWindow>;
}

/**
 * The streams packaged in this process, by stream path: what delivery reads for them (master and
 * media playlists, init segments, segments, parts). Each stream is registered by the output that
 * makes it; only that output replaces its master or removes it.
 */
export class PackagedMedia {
  readonly #streams = new Map<string, Entry>();

  /**
   * `owner` makes `stream` from now on, with these windows (one per rendition). Windows of an
   * earlier owner that it does not take over are removed; a master served with windows taken over
   * (the previous process's) is kept.
   */
  register(stream: StreamPath, owner: object, windows: readonly RenditionWindow[]): void {
    const key = formatStreamPath(stream);
    const entry = this.#streams.get(key);
    if (entry?.owner === owner) {
      for (const window of windows) entry.windows.set(window.name, window);
      return;
    }
    const earlier = [...(entry?.windows.values() ?? [])];
    for (const old of earlier) if (!windows.includes(old)) old.remove();
    const master = windows.some((w) => earlier.includes(w)) ? entry?.master : undefined;
    this.#streams.set(key, { owner, master, windows: new Map(windows.map((w) => [w.name, w])) });
  }

  /** Forgets a stream's packaged windows whoever made them (FFmpeg makes the stream now). */
  drop(stream: StreamPath): void {
    const key = formatStreamPath(stream);
    for (const window of this.#streams.get(key)?.windows.values() ?? []) window.remove();
    this.#streams.delete(key);
  }

  setMaster(stream: StreamPath, owner: object, text: string): void {
    const entry = this.#streams.get(formatStreamPath(stream));
    if (entry?.owner === owner) entry.master = text;
  }

  unregister(stream: StreamPath, owner: object): void {
    const key = formatStreamPath(stream);
    if (this.#streams.get(key)?.owner === owner) this.#streams.delete(key);
  }

  /** The master playlist served for `stream`, if any. */
  masterOf(stream: StreamPath): string | undefined {
    return this.#streams.get(formatStreamPath(stream))?.master;
  }

  /** One rendition's window (what a restart keeps). */
  windowOf(stream: StreamPath, rendition: string): RenditionWindow | undefined {
    return this.#streams.get(formatStreamPath(stream))?.windows.get(rendition);
  }

  has(stream: StreamPath): boolean {
    return this.#streams.has(formatStreamPath(stream));
  }

  /** A master (`index.m3u8`) or media playlist's text. */
  async playlist(
    stream: StreamPath,
    file: string,
    request: PackagedPlaylistRequest = {},
  ): Promise<string> {
    const entry = this.#streams.get(formatStreamPath(stream));
    if (!entry) throw new StagedoorError('NOT_FOUND');
    if (file === 'index.m3u8') {
      if (entry.master === undefined) throw new StagedoorError('NOT_FOUND');
      return entry.master;
    }
    const window = entry.windows.get(file.slice(0, -'.m3u8'.length));
    // Before its first segment a rendition's playlist does not exist, as a file would not.
    if (!window || (!window.ready && !request.at)) throw new StagedoorError('NOT_FOUND');
    return window.playlist(request);
  }

  /** An init segment, segment or part of one of the stream's renditions. */
  media(stream: StreamPath, file: string, signal?: AbortSignal): Promise<Uint8Array> {
    const entry = this.#streams.get(formatStreamPath(stream));
    const rendition = /^(.+)_(?:init\d+\.mp4|[sp]\d+\.m4s)$/.exec(file)?.[1];
    const window = rendition === undefined ? undefined : entry?.windows.get(rendition);
    if (!window) return Promise.reject(new StagedoorError('NOT_FOUND'));
    return window.media(file, signal);
  }
}
