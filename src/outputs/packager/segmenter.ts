import type { TimedSample } from './track-clock.js';

// Cuts a stream's timed samples into parts and segments. The leading track (video when there is
// video, else audio) decides: a part closes before a sample that would take it past the part
// target; a segment closes before a key frame once it has lasted the segment target. The other
// track's samples go into whichever part is open when they are timed, so each track's timeline
// stays continuous from part to part.

export interface SegmenterOptions {
  partTargetSec: number;
  segmentTargetSec: number;
  /** Ticks per second of the leading track. */
  leadTimescale: number;
  leadTrack: 'video' | 'audio';
}

/** A closed part: each track's samples from its first decode time on. */
export interface ClosedPart {
  video: TimedSample[];
  audio: TimedSample[];
  /** Seconds on the leading track. */
  duration: number;
  /** It starts with a key frame (every audio-only part does). */
  independent: boolean;
}

export interface SegmenterSink {
  part(part: ClosedPart): void;
  /** The parts since the previous call make a segment. */
  segmentEnd(): void;
}

export class Segmenter {
  readonly #options: SegmenterOptions;
  readonly #sink: SegmenterSink;
  #part: ClosedPart = emptyPart();
  #partTicks = 0;
  #segmentTicks = 0;
  #segmentHasParts = false;

  constructor(options: SegmenterOptions, sink: SegmenterSink) {
    this.#options = options;
    this.#sink = sink;
  }

  take(sample: TimedSample): void {
    const { leadTrack, leadTimescale, partTargetSec, segmentTargetSec } = this.#options;
    const track = sample.unit.track;
    if (track !== leadTrack) {
      this.#part[track].push(sample);
      return;
    }
    const sync = track === 'audio' || sample.unit.key;
    const begun = this.#partTicks > 0 || this.#segmentHasParts;
    if (sync && begun && this.#segmentTicks >= segmentTargetSec * leadTimescale - 1) {
      this.endSegment();
    } else if (
      this.#partTicks > 0 &&
      this.#partTicks + sample.duration > partTargetSec * leadTimescale + 1
    ) {
      this.#closePart();
    }
    if (this.#partTicks === 0 && this.#part[leadTrack].length === 0) this.#part.independent = sync;
    this.#part[track].push(sample);
    this.#partTicks += sample.duration;
    this.#segmentTicks += sample.duration;
  }

  /** Closes the open part and the segment (at a boundary, a codec change or the stream's end). */
  endSegment(): void {
    this.#closePart();
    if (this.#segmentHasParts) this.#sink.segmentEnd();
    this.#segmentHasParts = false;
    this.#segmentTicks = 0;
  }

  #closePart(): void {
    const part = this.#part;
    // Only the other track's samples so far: they wait for the leading track's next part.
    if (this.#partTicks === 0) return;
    part.duration = this.#partTicks / this.#options.leadTimescale;
    this.#part = emptyPart();
    this.#partTicks = 0;
    this.#segmentHasParts = true;
    this.#sink.part(part);
  }
}

function emptyPart(): ClosedPart {
  return { video: [], audio: [], duration: 0, independent: false };
}
