import type { StreamPath } from '../core/stream-path.js';
import { preparePlaylist, type PlaylistTemplate } from './playlist-template.js';
import { MediaPathResolver } from './safe-path.js';
import { PlaylistStore } from './playlist-store.js';
import { SegmentCache } from './segment-cache.js';
import { StagedoorError } from '../errors.js';

/** A part of a media playlist a blocking reload waits for (LL-HLS `_HLS_msn`, `_HLS_part`). */
export interface PartPosition {
  msn: number;
  part?: number | undefined;
}

/** How a playlist is asked for: a blocking reload's position, a delta update, and when to give up. */
export interface PlaylistRequest {
  at?: PartPosition | undefined;
  /** `_HLS_skip=YES`: leave out the segments the playlist's CAN-SKIP-UNTIL allows. */
  skip?: boolean | undefined;
  /** Aborted when the viewer is cut or goes away: a held request ends with the signal's reason. */
  signal?: AbortSignal | undefined;
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
  playlist(stream: StreamPath, file: string, request?: PlaylistRequest): Promise<PlaylistTemplate>;
  /** A segment, init segment, part or key: its bytes (a preload-hinted part once it exists). */
  media(stream: StreamPath, file: string, signal?: AbortSignal): Promise<Uint8Array>;
  close(): void;
}

/** What delivery reads of streams packaged in memory; the packager's store satisfies it. */
export interface PackagedStreams {
  has(stream: StreamPath): boolean;
  playlist(stream: StreamPath, file: string, request: PlaylistRequest): Promise<string>;
  media(stream: StreamPath, file: string, signal?: AbortSignal): Promise<Uint8Array>;
}

/**
 * Streams packaged in this process: playlists come as text, each version cut for passes once (the
 * packager hands out the same string until the playlist changes).
 */
export class MemoryMediaSource implements MediaSource {
  readonly #streams: PackagedStreams;
  readonly #cut = new Map<string, { text: string; template: PlaylistTemplate }>();

  constructor(streams: PackagedStreams) {
    this.#streams = streams;
  }

  async playlist(
    stream: StreamPath,
    file: string,
    request: PlaylistRequest = {},
  ): Promise<PlaylistTemplate> {
    const text = await this.#streams.playlist(stream, file, request);
    const key = `${stream.app}/${stream.name}/${file}${request.skip ? '?skip' : ''}`;
    const cached = this.#cut.get(key);
    if (cached?.text === text) return cached.template;
    const template = preparePlaylist(text, 'vs');
    this.#cut.delete(key);
    this.#cut.set(key, { text, template });
    if (this.#cut.size > 10_000) this.#cut.delete(this.#cut.keys().next().value as string);
    return template;
  }

  media(stream: StreamPath, file: string, signal?: AbortSignal): Promise<Uint8Array> {
    return this.#streams.media(stream, file, signal);
  }

  close(): void {
    this.#cut.clear();
  }
}

/** Each stream from where it is made: the packager's memory when it packages the stream, else disk. */
export class StreamMediaSources implements MediaSource {
  constructor(
    private readonly packaged: PackagedStreams,
    private readonly memory: MediaSource,
    private readonly disk: MediaSource,
  ) {}

  playlist(stream: StreamPath, file: string, request?: PlaylistRequest): Promise<PlaylistTemplate> {
    return this.#of(stream).playlist(stream, file, request);
  }

  media(stream: StreamPath, file: string, signal?: AbortSignal): Promise<Uint8Array> {
    return this.#of(stream).media(stream, file, signal);
  }

  close(): void {
    this.memory.close();
    this.disk.close();
  }

  #of(stream: StreamPath): MediaSource {
    return this.packaged.has(stream) ? this.memory : this.disk;
  }
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
