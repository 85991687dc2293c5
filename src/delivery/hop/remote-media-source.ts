import { StagedoorError, ERROR_CODES, type ErrorCode } from '../../errors.js';
import type { StreamPath } from '../../core/stream-path.js';
import type { MediaSource, PlaylistRequest } from '../media-source.js';
import { preparePlaylist, type PlaylistTemplate } from '../playlist-template.js';
import { CoalescingCache } from './coalescing-cache.js';
import { HOP_PREFIX } from './internal-media-server.js';
import type { HopSigner } from './hop-signature.js';

/** The node a stream is published on, as the cluster's lease says. */
export interface StreamOwner {
  node: string;
  /** Its internal listener. */
  url: string;
  /** The lease's holder (`<node> <random>`): a new publisher, a new value, so nothing stale is reused. */
  lease: string;
}

/** Who publishes a stream elsewhere: undefined when nobody does, or this node does. */
export interface StreamOwners {
  ownerOf(stream: StreamPath): Promise<StreamOwner | undefined>;
}

export interface RemoteMediaOptions {
  /** This node's name, signed into each request. */
  node: string;
  signer: HopSigner;
  cacheBytes: number;
  now?: () => number;
}

/** A plain playlist is shared this long; a blocking reload's answer (for that position) longer. */
const PLAYLIST_TTL_MS = 250;
const BLOCKING_TTL_MS = 5_000;
/** Segments, parts, init segments and keys never change under one lease. */
const MEDIA_TTL_MS = 60_000;
/** A request the owner may hold (a blocking reload, a preload hint) waits at most this long. */
const HELD_TIMEOUT_MS = 20_000;
const PLAIN_TIMEOUT_MS = 5_000;

/**
 * Another node's media, read over its internal listener with signed requests. N viewers of one
 * stream here cost its owner one fetch per playlist version, segment and part: concurrent askers
 * share one request and its answer is cached. A viewer that goes away stops waiting; the shared
 * fetch goes on for the others.
 */
export class RemoteMediaSource {
  readonly #options: RemoteMediaOptions;
  readonly #playlists: CoalescingCache<PlaylistTemplate>;
  readonly #media: CoalescingCache<Uint8Array>;

  constructor(options: RemoteMediaOptions) {
    this.#options = options;
    this.#playlists = new CoalescingCache(Math.max(1 << 20, options.cacheBytes / 16), options.now);
    this.#media = new CoalescingCache(options.cacheBytes, options.now);
  }

  /** Fetches made to owners so far (cache misses): playlists and media. */
  get fetches(): { playlists: number; media: number } {
    return { playlists: this.#playlists.fetches, media: this.#media.fetches };
  }

  playlist(
    owner: StreamOwner,
    stream: StreamPath,
    file: string,
    request: PlaylistRequest = {},
  ): Promise<PlaylistTemplate> {
    const query = new URLSearchParams();
    if (request.at) {
      query.set('_HLS_msn', String(request.at.msn));
      if (request.at.part !== undefined) query.set('_HLS_part', String(request.at.part));
    }
    if (request.skip) query.set('_HLS_skip', 'YES');
    const path = `${pathOf(stream, file)}${query.size > 0 ? `?${query}` : ''}`;
    const held = request.at !== undefined;
    const answer = this.#playlists.get(
      `${owner.lease}|${path}`,
      held ? BLOCKING_TTL_MS : PLAYLIST_TTL_MS,
      async () => {
        const body = await this.#fetch(owner, path, held ? HELD_TIMEOUT_MS : PLAIN_TIMEOUT_MS);
        return preparePlaylist(Buffer.from(body).toString('utf8'), 'vs');
      },
      (template) => template.parts.reduce((n, part) => n + part.length, 0),
    );
    return waitFor(answer, request.signal);
  }

  media(
    owner: StreamOwner,
    stream: StreamPath,
    file: string,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const path = pathOf(stream, file);
    const answer = this.#media.get(
      `${owner.lease}|${path}`,
      MEDIA_TTL_MS,
      // A part may be one a preload hint names: the owner holds it until it exists.
      () => this.#fetch(owner, path, /_p\d+\.m4s$/.test(file) ? HELD_TIMEOUT_MS : PLAIN_TIMEOUT_MS),
      (bytes) => bytes.byteLength,
    );
    return waitFor(answer, signal);
  }

  close(): void {
    this.#playlists.clear();
    this.#media.clear();
  }

  async #fetch(owner: StreamOwner, path: string, timeoutMs: number): Promise<Uint8Array> {
    let response: Response;
    try {
      response = await fetch(`${owner.url}${path}`, {
        headers: this.#options.signer.sign(this.#options.node, path),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new StagedoorError(
        'NODE_UNREACHABLE',
        `node ${owner.node}, where this stream is published, did not answer`,
        { cause },
      );
    }
    const body = new Uint8Array(await response.arrayBuffer());
    if (response.ok) return body;
    throw ownerRefusal(response.status, body);
  }
}

/** One node in front of the others: streams published here read here, the others' from their owner. */
export class ClusterMediaSource implements MediaSource {
  constructor(
    private readonly local: MediaSource,
    /** True when this node publishes the stream: no lookup needed. */
    private readonly publishedHere: (stream: StreamPath) => boolean,
    private readonly owners: StreamOwners,
    private readonly remote: RemoteMediaSource,
  ) {}

  async playlist(
    stream: StreamPath,
    file: string,
    request?: PlaylistRequest,
  ): Promise<PlaylistTemplate> {
    const owner = await this.#ownerOf(stream);
    return owner
      ? this.remote.playlist(owner, stream, file, request)
      : this.local.playlist(stream, file, request);
  }

  async media(stream: StreamPath, file: string, signal?: AbortSignal): Promise<Uint8Array> {
    const owner = await this.#ownerOf(stream);
    return owner
      ? this.remote.media(owner, stream, file, signal)
      : this.local.media(stream, file, signal);
  }

  close(): void {
    this.local.close();
    this.remote.close();
  }

  async #ownerOf(stream: StreamPath): Promise<StreamOwner | undefined> {
    return this.publishedHere(stream) ? undefined : this.owners.ownerOf(stream);
  }
}

function pathOf(stream: StreamPath, file: string): string {
  return `${HOP_PREFIX}${stream.app}/${stream.name}/${file}`;
}

/** The owner's coded refusal, as it gave it (NOT_FOUND, HLS_WAIT_TIMEOUT, HLS_REQUEST_INVALID …). */
function ownerRefusal(status: number, body: Uint8Array): StagedoorError {
  try {
    const { error } = JSON.parse(Buffer.from(body).toString('utf8')) as {
      error: { code: string; message: string };
    };
    if (error.code in ERROR_CODES)
      return new StagedoorError(error.code as ErrorCode, error.message);
  } catch {
    // not ours: fall through
  }
  return new StagedoorError('NODE_UNREACHABLE', `the owner node answered ${status}`);
}

/** A shared answer, given up by this asker alone when its signal aborts. */
function waitFor<T>(answer: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return answer;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    answer.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error as Error);
      },
    );
  });
}
