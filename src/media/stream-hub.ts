import { StagedoorError } from '../errors.js';
import { formatStreamPath, type StreamPath } from '../core/stream-path.js';
import type { Session } from '../sessions/session.js';
import { LiveStream, type MediaSink } from './live-stream.js';
import type { EndReason } from '../core/end-reasons.js';

export type StreamEvent = 'publish' | 'unpublish';
/** `reason`: on unpublish, why the publisher's session ended (`shutdown`: Stagedoor is stopping). */
export type StreamListener = (event: StreamEvent, stream: LiveStream, reason?: EndReason) => void;

export interface StreamHubOptions {
  /** A second admitted publisher replaces the first (closed as `taken-over`) instead of being refused. */
  publisherTakeover: boolean;
  gopCacheBytes: number;
}

/**
 * Owns the live streams. The only way in for media is a publisher that holds the stream's claim,
 * and a claim is only handed to a session the authenticator admitted.
 */
export class StreamHub {
  readonly #streams = new Map<string, LiveStream>();
  readonly #listeners = new Set<StreamListener>();
  readonly #options: StreamHubOptions;

  constructor(options: StreamHubOptions) {
    this.#options = options;
  }

  get(path: StreamPath): LiveStream | undefined {
    return this.#streams.get(formatStreamPath(path));
  }

  list(): LiveStream[] {
    return [...this.#streams.values()];
  }

  /** Would a publisher be refused right now? Checked before a session is opened. */
  assertCanPublish(path: StreamPath): void {
    const current = this.get(path)?.publisher;
    if (current && !current.closed && !this.#options.publisherTakeover)
      throw new StagedoorError('STREAM_BUSY');
  }

  /** Makes `session` the stream's publisher; STREAM_BUSY when another one holds it. */
  claim(path: StreamPath, session: Session): LiveStream {
    const stream = this.#streamFor(path);
    const current = stream.publisher;
    if (current && current !== session && !current.closed) {
      if (!this.#options.publisherTakeover) throw new StagedoorError('STREAM_BUSY');
      // Unhook first so the old publisher's teardown does not end the stream's viewers.
      stream.publisher = null;
      current.close('taken-over');
    }
    stream.publisher = session;
    stream.resetCache();
    this.#emit('publish', stream);
    return stream;
  }

  /** The publisher left: its viewers end with `publisher-gone` and the stream is forgotten. */
  release(stream: LiveStream, session: Session): void {
    if (stream.publisher !== session) return;
    stream.publisher = null;
    stream.resetCache();
    this.#emit('unpublish', stream, session.endReason);
    stream.endSinks('publisher-gone');
    this.#dropIfEmpty(stream);
  }

  attach(path: StreamPath, sink: MediaSink): LiveStream {
    const stream = this.#streamFor(path);
    stream.attach(sink);
    return stream;
  }

  detach(stream: LiveStream, sinkId: string): void {
    stream.detach(sinkId);
    this.#dropIfEmpty(stream);
  }

  onStream(listener: StreamListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #streamFor(path: StreamPath): LiveStream {
    const key = formatStreamPath(path);
    let stream = this.#streams.get(key);
    if (!stream) {
      stream = new LiveStream(path, this.#options.gopCacheBytes);
      this.#streams.set(key, stream);
    }
    return stream;
  }

  #dropIfEmpty(stream: LiveStream): void {
    if (stream.isEmpty && this.#streams.get(stream.key) === stream)
      this.#streams.delete(stream.key);
  }

  #emit(event: StreamEvent, stream: LiveStream, reason?: EndReason): void {
    for (const listener of this.#listeners) listener(event, stream, reason);
  }
}
