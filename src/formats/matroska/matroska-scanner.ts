import { ByteWindow } from '../byte-window.js';
import { ScanError, type ContainerScanner, type UnitEvents } from '../unit-events.js';

const EBML = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const CLUSTER = 0x1f43b675;
const TRACKS = 0x1654ae6b;
const TRACK_ENTRY = 0xae;
const TRACK_NUMBER = 0xd7;
const TRACK_TYPE = 0x83;
const SIMPLE_BLOCK = 0xa3;
const VIDEO_TRACK_TYPE = 1;
/** Elements that live directly under Segment: one of them ends a Cluster of unknown size. */
const SEGMENT_CHILDREN = new Set([
  0x114d9b74,
  0x1549a966,
  TRACKS,
  CLUSTER,
  0x1c53bb6b,
  0x1941a469,
  0x1043a770,
  0x1254c367,
]);

interface Header {
  id: number;
  /** Undefined when the element's size is "unknown" (live muxers leave Segment and Cluster open). */
  size: number | undefined;
  length: number;
}

interface Level {
  id: number;
  end: number;
}

/**
 * Follows a Matroska/WebM byte stream (as MediaRecorder sends it: Segment and Clusters of
 * unknown size) far enough to know where each Cluster starts and whether its first video block
 * is a key frame. It never holds more than an element header: payloads are skipped as they pass.
 */
export class MatroskaScanner implements ContainerScanner {
  readonly #events: UnitEvents;
  readonly #window = new ByteWindow();
  readonly #stack: Level[] = [];
  #entry: { number?: number; type?: number } | undefined;
  #videoTrack: number | undefined;
  /** Offset of the Cluster whose first video block has not been seen yet. */
  #pendingCluster: number | undefined;

  constructor(events: UnitEvents) {
    this.#events = events;
  }

  push(chunk: Buffer): void {
    if (!this.#window.append(chunk)) return;
    for (;;) {
      const header = readHeader(this.#window.bytes);
      const done = header ? this.#element(header) : 'more';
      if (done === 'more') return this.#window.hold();
      if (done === 'skipping') return;
    }
  }

  /**
   * Handles the element at the head of the window: `more` when it needs more bytes first,
   * `skipping` when its payload runs past the bytes at hand.
   */
  #element({ id, size, length }: Header): 'next' | 'more' | 'skipping' {
    const window = this.#window;
    const start = window.offset;
    this.#closeLevels(start, id);
    const parent = this.#stack.at(-1)?.id;
    const end = size === undefined ? Infinity : start + length + size;
    const open = (): 'next' => {
      this.#stack.push({ id, end });
      window.consume(length);
      return 'next';
    };
    const skip = (): 'next' | 'skipping' => {
      if (size === undefined) throw new ScanError(`element 0x${id.toString(16)} of unknown size`);
      return window.skip(length, size) ? 'next' : 'skipping';
    };

    if (parent === undefined) {
      if (id === EBML) return skip();
      if (id === SEGMENT) {
        const idLength = varintLength(window.bytes[0]!, 4);
        if (size !== undefined) this.#events.onOpenEndedSize?.(start + idLength, length - idLength);
        return open();
      }
      throw new ScanError(`not a Matroska stream (top-level element 0x${id.toString(16)})`);
    }
    if (parent === SEGMENT) {
      if (id === CLUSTER) {
        if (this.#pendingCluster !== undefined) this.#events.onUnit(this.#pendingCluster, false);
        this.#pendingCluster = start;
        this.#events.onUnitStart(start);
        return open();
      }
      if (id === TRACKS) return open();
      return skip();
    }
    if (parent === TRACKS && id === TRACK_ENTRY) {
      this.#entry = {};
      return open();
    }
    if (parent === TRACK_ENTRY && (id === TRACK_NUMBER || id === TRACK_TYPE)) {
      if (size === undefined || size < 1 || size > 6)
        throw new ScanError('bad track number or type');
      if (window.bytes.length < length + size) return 'more';
      const value = window.bytes.readUIntBE(length, size);
      if (id === TRACK_NUMBER) this.#entry!.number = value;
      else this.#entry!.type = value;
      return skip();
    }
    if (parent === CLUSTER && id === SIMPLE_BLOCK && this.#pendingCluster !== undefined) {
      // SimpleBlock: track number (EBML varint), 16-bit relative timecode, flags (0x80 = key frame).
      const track = readVarint(window.bytes, length);
      if (!track || window.bytes.length < length + track.length + 3) return 'more';
      if (track.value === this.#videoTrack) {
        this.#events.onUnit(
          this.#pendingCluster,
          (window.bytes[length + track.length + 2]! & 0x80) !== 0,
        );
        this.#pendingCluster = undefined;
      }
      return skip();
    }
    return skip();
  }

  /** Leaves every element that ended before `start`, and an open Cluster when a sibling begins. */
  #closeLevels(start: number, id: number): void {
    for (;;) {
      const top = this.#stack.at(-1);
      if (!top) return;
      const ended =
        top.end <= start ||
        (top.end === Infinity && top.id === CLUSTER && SEGMENT_CHILDREN.has(id)) ||
        (top.id === SEGMENT && id === EBML);
      if (!ended) return;
      this.#stack.pop();
      if (
        top.id === TRACK_ENTRY &&
        this.#entry?.type === VIDEO_TRACK_TYPE &&
        this.#videoTrack === undefined
      )
        this.#videoTrack = this.#entry.number;
    }
  }
}

/** An element header (ID and size), or undefined until enough bytes have arrived. */
function readHeader(buf: Buffer): Header | undefined {
  if (buf.length === 0) return undefined;
  const idLength = varintLength(buf[0]!, 4);
  if (idLength === 0) throw new ScanError(`invalid element ID byte 0x${buf[0]!.toString(16)}`);
  if (buf.length < idLength) return undefined;
  const id = buf.readUIntBE(0, idLength);
  const size = readVarint(buf, idLength);
  if (!size) return undefined;
  return { id, size: size.unknown ? undefined : size.value, length: idLength + size.length };
}

/** An EBML variable-length integer at `at` (marker bit removed), or undefined until complete. */
function readVarint(
  buf: Buffer,
  at: number,
): { value: number; length: number; unknown: boolean } | undefined {
  if (buf.length <= at) return undefined;
  const length = varintLength(buf[at]!, 8);
  if (length === 0) throw new ScanError('invalid EBML size');
  if (buf.length < at + length) return undefined;
  let value = buf[at]! & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + buf[at + i]!;
    allOnes &&= buf[at + i] === 0xff;
  }
  if (!allOnes && !Number.isSafeInteger(value)) throw new ScanError('EBML size out of range');
  return { value, length, unknown: allOnes };
}

/** Bytes in a varint from its first byte's leading zeros; 0 when longer than `max`. */
function varintLength(first: number, max: number): number {
  for (let length = 1; length <= max; length++) if (first & (0x100 >> length)) return length;
  return 0;
}
