import { formatStreamPath, type StreamPath } from '../core/stream-path.js';
import type { Session } from '../sessions/session.js';
import type { EndReason } from '../core/end-reasons.js';
import type { AccessUnit, MediaUnit, StreamMetadata } from './media-unit.js';
import { isKeyFrame } from './media-unit.js';
import type { RawInput, RawSink } from './raw-input.js';

/** Anything that receives a stream's units: an RTMP player, an output (FFmpeg's stdin). */
export interface MediaSink {
  readonly id: string;
  deliver(unit: MediaUnit): void;
  /** The stream ended under the sink (publisher gone, taken over); the sink ends itself. */
  end(reason: EndReason): void;
}

/** A stream's decoder configurations and metadata, once seen. */
export interface StreamHeaders {
  metadata: StreamMetadata | null;
  audio: AccessUnit | null;
  video: AccessUnit | null;
}

/**
 * One stream path: at most one publisher, its sinks, and the units a new sink needs to start
 * decoding at once (metadata, decoder configurations, the current GOP). A publisher of container
 * bytes (WebM, MP4) instead feeds the raw sink an output registered for the stream.
 */
export class LiveStream {
  readonly path: StreamPath;
  readonly key: string;
  publisher: Session | null = null;
  readonly #sinks = new Map<string, MediaSink>();
  #metadata: StreamMetadata | null = null;
  #audioHeader: AccessUnit | null = null;
  #videoHeader: AccessUnit | null = null;
  #gop: MediaUnit[] = [];
  #rawSink: RawSink | undefined;
  #gopBytes = 0;
  readonly #gopCacheBytes: number;

  constructor(path: StreamPath, gopCacheBytes: number) {
    this.path = path;
    this.key = formatStreamPath(path);
    this.#gopCacheBytes = gopCacheBytes;
  }

  get sinkCount(): number {
    return this.#sinks.size;
  }

  get isEmpty(): boolean {
    return this.publisher === null && this.#sinks.size === 0;
  }

  /** Fans one unit from the admitted publisher out to every sink. */
  write(unit: MediaUnit): void {
    this.#remember(unit);
    for (const sink of this.#sinks.values()) sink.deliver(unit);
  }

  attach(sink: MediaSink): void {
    for (const unit of this.startupUnits()) sink.deliver(unit);
    this.#sinks.set(sink.id, sink);
  }

  /** The output that takes this stream's container bytes, when one does (set by the output manager). */
  setRawSink(sink: RawSink | undefined): void {
    this.#rawSink = sink;
  }

  /** Can a publisher send container bytes (WebM, MP4) here instead of units? */
  get acceptsRaw(): boolean {
    return this.#rawSink !== undefined;
  }

  /** Starts the raw sink on a container publisher's input; resolves once it takes bytes. */
  startRaw(input: RawInput): Promise<void> {
    if (!this.#rawSink) return Promise.reject(new Error('no output takes container bytes'));
    return this.#rawSink.startRaw(input);
  }

  /** Hands container bytes on; says when the publisher should stop reading, or that it overflowed. */
  writeRaw(chunk: Buffer): ReturnType<RawSink['writeRaw']> {
    return this.#rawSink ? this.#rawSink.writeRaw(chunk) : 'ok';
  }

  /** Calls `listener` once the raw sink has caught up. */
  onceRawDrained(listener: () => void): void {
    if (this.#rawSink) this.#rawSink.onceDrained(listener);
    else listener();
  }

  detach(sinkId: string): void {
    this.#sinks.delete(sinkId);
  }

  /** The publisher's decoder configurations and metadata, once seen. */
  get headers(): StreamHeaders {
    return { metadata: this.#metadata, audio: this.#audioHeader, video: this.#videoHeader };
  }

  /** What a sink joining now must receive first. */
  startupUnits(): MediaUnit[] {
    // Video header before audio: FFmpeg's FLV probe then finds the video stream first.
    const head = [this.#metadata, this.#videoHeader, this.#audioHeader].filter(
      (u): u is NonNullable<typeof u> => u !== null,
    );
    return [...head, ...this.#gop];
  }

  /** Ends every sink (they detach themselves) and forgets the cached media. */
  endSinks(reason: EndReason): void {
    for (const sink of [...this.#sinks.values()]) sink.end(reason);
    this.#sinks.clear();
  }

  resetCache(): void {
    this.#metadata = this.#audioHeader = this.#videoHeader = null;
    this.#gop = [];
    this.#gopBytes = 0;
  }

  #remember(unit: MediaUnit): void {
    if (unit.kind === 'metadata') {
      this.#metadata = unit;
      return;
    }
    if (unit.config) {
      if (unit.track === 'video') this.#videoHeader = unit;
      else this.#audioHeader = unit;
      return;
    }
    const key = isKeyFrame(unit);
    if (key) {
      this.#gop = [];
      this.#gopBytes = 0;
    }
    if (this.#gopCacheBytes === 0) return;
    // Only cache from a key frame on: a GOP without its key frame cannot be decoded.
    if (this.#gop.length === 0 && !key) return;
    this.#gop.push(unit);
    this.#gopBytes += unit.byteLength;
    if (this.#gopBytes > this.#gopCacheBytes) {
      this.#gop = [];
      this.#gopBytes = 0;
    }
  }
}
