// A publisher that sends a container byte stream (WebM/Matroska, fragmented MP4) rather than
// units: the hub hands its bytes to the raw sink an output registered for the stream.
import type { InputTracks } from './media-unit.js';

export interface RawInput {
  format: 'matroska' | 'mp4';
  tracks: InputTracks;
  /** Bytes the sink may hold before the publisher is told it overflowed. */
  maxBufferedBytes: number;
  /** The sink failed and cannot go on with this input: the publisher is ended. */
  onFailure: (why: string) => void;
}

/** Result of handing container bytes on. */
export type RawWrite = 'ok' | 'backpressure' | 'overflow';

/** What an output implements to take container bytes. */
export interface RawSink {
  startRaw(input: RawInput): Promise<void>;
  writeRaw(chunk: Buffer): RawWrite;
  onceDrained(listener: () => void): void;
}
