import { MatroskaScanner } from '../../formats/matroska/matroska-scanner.js';
import { Mp4Scanner } from '../../formats/mp4/mp4-scanner.js';
import type { ContainerScanner, UnitEvents } from '../../formats/unit-events.js';

export interface ResumeLimits {
  /** The container header (everything before the first unit) larger than this: resuming is off. */
  maxHeaderBytes: number;
  /** A key unit and what followed it larger than this is dropped until the next key unit. */
  maxGopBytes: number;
}

export const DEFAULT_RESUME_LIMITS: ResumeLimits = {
  maxHeaderBytes: 1024 * 1024,
  maxGopBytes: 16 * 1024 * 1024,
};

/**
 * Lets a new FFmpeg pick up a WebM/Matroska or fragmented MP4 byte stream mid-way, as the GOP
 * cache does for FLV: it keeps the container header and the bytes since the latest unit that
 * starts with a video key frame. `resumeBytes()` is a stream FFmpeg can open and decode from its
 * first frame. Memory is bounded by the limits; a stream the scanner cannot follow is simply
 * not resumable (`unresumable` says why) and FFmpeg remains the judge of the bytes themselves.
 */
export class ResumeBuffer {
  readonly #limits: ResumeLimits;
  readonly #scanner: ContainerScanner;
  #chunks: Buffer[] = [];
  /** Stream offset of `#chunks[0]`'s first byte. */
  #chunksFrom = 0;
  #total = 0;
  #header: Buffer | undefined;
  #keyStart: number | undefined;
  #pendingStart: number | undefined;
  #unresumable: string | undefined;
  readonly #openEnded: Array<{ offset: number; length: number }> = [];

  constructor(format: 'matroska' | 'mp4', limits: ResumeLimits = DEFAULT_RESUME_LIMITS) {
    this.#limits = limits;
    const events: UnitEvents = {
      onUnitStart: (offset) => this.#onUnitStart(offset),
      onUnit: (offset, key) => this.#onUnit(offset, key),
      onOpenEndedSize: (offset, length) => this.#openEnded.push({ offset, length }),
    };
    this.#scanner = format === 'matroska' ? new MatroskaScanner(events) : new Mp4Scanner(events);
  }

  /** Why this stream cannot be resumed, once that is known. */
  get unresumable(): string | undefined {
    return this.#unresumable;
  }

  /** Bytes held, header included. */
  get heldBytes(): number {
    return (this.#header?.length ?? 0) + this.#chunks.reduce((n, c) => n + c.length, 0);
  }

  /** Scans a chunk (the scanner's events land here), then drops what no unit can resume from. */
  push(chunk: Buffer): void {
    if (this.#unresumable || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#total += chunk.length;
    try {
      this.#scanner.push(chunk);
    } catch (error) {
      this.#giveUp(
        `container not followed: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    if (this.#header === undefined && this.#total > this.#limits.maxHeaderBytes) {
      this.#giveUp(`container header larger than ${this.#limits.maxHeaderBytes} bytes`);
      return;
    }
    if (this.#keyStart !== undefined && this.#total - this.#keyStart > this.#limits.maxGopBytes)
      this.#keyStart = undefined;
    // A unit whose first video frame never comes (an audio-only run) is not held without bound either.
    if (
      this.#pendingStart !== undefined &&
      this.#total - this.#pendingStart > this.#limits.maxGopBytes
    )
      this.#pendingStart = undefined;
    this.#trim();
  }

  /** A header and a key unit are held: `resumeBytes()` has something to start from. */
  get canResume(): boolean {
    return !this.#unresumable && this.#header !== undefined && this.#keyStart !== undefined;
  }

  /** Header plus everything since the latest key unit, or undefined when there is none yet. */
  resumeBytes(): Buffer[] | undefined {
    if (!this.canResume) return undefined;
    return [this.#header!, ...this.#slice(this.#keyStart!)];
  }

  #onUnitStart(offset: number): void {
    if (this.#header === undefined) {
      const header = Buffer.concat(this.#slice(0, offset));
      // EBML "unknown size": the length marker bit, then all ones.
      for (const field of this.#openEnded) {
        header[field.offset] = 0xff >> (field.length - 1);
        header.fill(0xff, field.offset + 1, field.offset + field.length);
      }
      this.#header = header;
    }
    this.#pendingStart = offset;
  }

  #onUnit(offset: number, key: boolean): void {
    if (offset === this.#pendingStart) this.#pendingStart = undefined;
    // A key unit whose start was already let go cannot be resumed from.
    if (key && offset >= this.#chunksFrom) this.#keyStart = offset;
  }

  /** Drops bytes nothing can resume from any more. */
  #trim(): void {
    const keepFrom = Math.min(
      this.#header === undefined ? 0 : Infinity,
      this.#keyStart ?? Infinity,
      this.#pendingStart ?? Infinity,
      this.#total,
    );
    while (this.#chunks.length > 0 && this.#chunksFrom + this.#chunks[0]!.length <= keepFrom) {
      this.#chunksFrom += this.#chunks.shift()!.length;
    }
  }

  /** The held bytes from stream offset `from` (to `to`), as views on the chunks. */
  #slice(from: number, to = this.#total): Buffer[] {
    const out: Buffer[] = [];
    let at = this.#chunksFrom;
    for (const chunk of this.#chunks) {
      const end = at + chunk.length;
      if (end > from && at < to)
        out.push(chunk.subarray(Math.max(0, from - at), Math.min(chunk.length, to - at)));
      at = end;
    }
    return out;
  }

  #giveUp(why: string): void {
    this.#unresumable = why;
    this.#chunks = [];
    this.#header = undefined;
    this.#keyStart = undefined;
  }
}
