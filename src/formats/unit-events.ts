/**
 * What a container scanner reports while reading a live byte stream: where each media unit (a
 * Matroska Cluster, an MP4 movie fragment) starts, and, once known, whether it starts with a
 * video key frame. Offsets count bytes from the start of the stream. Everything before the
 * first unit is the container header FFmpeg needs before any media.
 */
export interface UnitEvents {
  /** A unit starts at `offset`; whether it is a key unit is reported later by `onUnit`. */
  onUnitStart(offset: number): void;
  /** The unit that started at `offset` does (or does not) begin with a video key frame. */
  onUnit(offset: number, key: boolean): void;
  /**
   * A size field in the header (a Matroska Segment's) that counts bytes a resumed stream will
   * not have: the resume header writes it as "unknown size", as a live muxer does.
   */
  onOpenEndedSize?(offset: number, length: number): void;
}

/** Reads a container byte stream chunk by chunk and reports its units. */
export interface ContainerScanner {
  push(chunk: Buffer): void;
}

/** The scanner met a structure it cannot follow; resuming is off for this stream (FFmpeg still parses it). */
export class ScanError extends Error {}
