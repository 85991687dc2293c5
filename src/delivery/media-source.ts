import type { StreamPath } from '../core/stream-path.js';
import type { PlaylistTemplate } from './playlist-template.js';
import { MediaPathResolver } from './safe-path.js';
import { PlaylistStore } from './playlist-store.js';
import { SegmentCache } from './segment-cache.js';
import { StagedoorError } from '../errors.js';

/** A part of a media playlist a blocking reload waits for (LL-HLS `_HLS_msn`, `_HLS_part`). */
export interface PartPosition {
  msn: number;
  part?: number | undefined;
}

/**
 * Where delivery reads a stream's media: the port between whatever makes HLS (FFmpeg writing
 * files, an in-process packager holding them in memory, another node) and the routes that
 * authorise and serve it. Names are checked already (`mediaKindOf`); a source answers NOT_FOUND for
 * what it does not have.
 */
export interface MediaSource {
  /**
   * A master or media playlist, cut for passes. With `at`, answered once that part exists (a
   * blocking reload); a source that has no parts (files on disk) answers what it has.
   */
  playlist(stream: StreamPath, file: string, at?: PartPosition): Promise<PlaylistTemplate>;
  /** A segment, init segment, part or key: its bytes. */
  media(stream: StreamPath, file: string): Promise<Uint8Array>;
  close(): void;
}

/**
 * Media that FFmpeg writes under the media root: paths resolved safely inside it, playlists kept
 * cut until their file changes (inotify), recently served segments and keys kept in memory.
 */
export class DiskMediaSource implements MediaSource {
  readonly #paths: MediaPathResolver;
  readonly #playlists = new PlaylistStore('vs');
  readonly #segments = new SegmentCache();

  constructor(mediaDir: string) {
    this.#paths = new MediaPathResolver(mediaDir);
  }

  async playlist(stream: StreamPath, file: string): Promise<PlaylistTemplate> {
    const path = await this.#paths.resolve(stream.app, stream.name, file);
    return orNotFound(this.#playlists.get(path));
  }

  async media(stream: StreamPath, file: string): Promise<Uint8Array> {
    const path = await this.#paths.resolve(stream.app, stream.name, file);
    return orNotFound(this.#segments.read(path));
  }

  close(): void {
    this.#playlists.close();
  }
}

/** A file resolved a moment ago may be gone by the time it is read (a stream ended, FFmpeg restarted). */
async function orNotFound<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new StagedoorError('NOT_FOUND', undefined, { cause: error });
    throw error;
  }
}
