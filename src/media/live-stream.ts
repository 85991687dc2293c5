import { formatStreamPath, type StreamPath } from '../core/stream-path.js';
import type { Session } from '../sessions/session.js';
import type { EndReason } from '../core/end-reasons.js';
import { MediaPacket, PacketFlag } from './media-packet.js';

/** Anything that receives a stream's packets: an RTMP player, later FFmpeg's stdin. */
export interface MediaSink {
  readonly id: string;
  deliver(packet: MediaPacket): void;
  /** The stream ended under the sink (publisher gone, taken over); the sink ends itself. */
  end(reason: EndReason): void;
}

/**
 * One stream path: at most one publisher, its sinks, and the packets a new sink needs to start
 * decoding at once (metadata, codec headers, the current GOP).
 */
export class LiveStream {
  readonly path: StreamPath;
  readonly key: string;
  publisher: Session | null = null;
  readonly #sinks = new Map<string, MediaSink>();
  #metadata: MediaPacket | null = null;
  #audioHeader: MediaPacket | null = null;
  #videoHeader: MediaPacket | null = null;
  #gop: MediaPacket[] = [];
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

  /** Fans one packet from the admitted publisher out to every sink. */
  write(packet: MediaPacket): void {
    this.#remember(packet);
    for (const sink of this.#sinks.values()) sink.deliver(packet);
  }

  attach(sink: MediaSink): void {
    for (const packet of this.startupPackets()) sink.deliver(packet);
    this.#sinks.set(sink.id, sink);
  }

  detach(sinkId: string): void {
    this.#sinks.delete(sinkId);
  }

  /** The publisher's codec headers and metadata, once seen. */
  get headers(): {
    metadata: MediaPacket | null;
    audio: MediaPacket | null;
    video: MediaPacket | null;
  } {
    return { metadata: this.#metadata, audio: this.#audioHeader, video: this.#videoHeader };
  }

  /** What a sink joining now must receive first. */
  startupPackets(): MediaPacket[] {
    // Video header before audio: FFmpeg's FLV probe then finds the video stream first.
    const head = [this.#metadata, this.#videoHeader, this.#audioHeader].filter(
      (p): p is MediaPacket => p !== null,
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

  #remember(packet: MediaPacket): void {
    switch (packet.flags) {
      case PacketFlag.Metadata:
        this.#metadata = packet;
        return;
      case PacketFlag.AudioHeader:
        this.#audioHeader = packet;
        return;
      case PacketFlag.VideoHeader:
        this.#videoHeader = packet;
        return;
      case PacketFlag.KeyFrame:
        this.#gop = [];
        this.#gopBytes = 0;
        break;
    }
    if (this.#gopCacheBytes === 0) return;
    // Only cache from a key frame on: a GOP without its key frame cannot be decoded.
    if (this.#gop.length === 0 && packet.flags !== PacketFlag.KeyFrame) return;
    this.#gop.push(packet);
    this.#gopBytes += packet.byteLength;
    if (this.#gopBytes > this.#gopCacheBytes) {
      this.#gop = [];
      this.#gopBytes = 0;
    }
  }
}
