import type { AccessUnit } from '../../media/media-unit.js';

// A publisher's clock is milliseconds, may jump backwards (an encoder restarted), may leap ahead
// (a stall, a clock reset) and jitters by a millisecond. A fragmented MP4 wants, per track, decode
// times that only grow and sample durations in the track's own ticks. The clocks below turn the
// first into the second; the tracks of one stream share one offset, so a jump seen by one track
// moves the other with it and audio stays with its video.

/** Beyond this between two samples of a track, the publisher's clock jumped: the gap is closed. */
export const MAX_GAP_MS = 1000;

/** The offset shared by a stream's tracks: publisher milliseconds to output milliseconds. */
export class StreamClock {
  #offsetMs: number | undefined;
  /** Times the clock was rebased (a jump or a gap closed), for the log and tests. */
  rebases = 0;

  /** Output milliseconds of a publisher time; the first time seen starts the output at 1 s. */
  map(publisherMs: number): number {
    this.#offsetMs ??= 1000 - publisherMs;
    return publisherMs + this.#offsetMs;
  }

  /** Moves the offset by `ms` (output time that should have been, minus what was). */
  shift(ms: number): void {
    this.#offsetMs = (this.#offsetMs ?? 0) + ms;
    this.rebases++;
  }
}

/** One sample with its place on its track's output timeline. */
export interface TimedSample {
  unit: AccessUnit;
  /** Decode time and duration, in the track's ticks. */
  decodeTime: number;
  duration: number;
  compositionOffset: number;
}

export interface TrackClockOptions {
  timescale: number;
  /** Every sample lasts this many ticks (AAC: 1024 per frame); small jitter is snapped to it. */
  fixedDuration?: number | undefined;
  /** A first guess of a sample's duration, until two samples have been seen. */
  defaultDuration: number;
}

/**
 * One track's clock. A sample's duration is only known when the next one arrives, so each sample
 * is held until then (one frame of delay); `flush` lets the last one go with the previous duration.
 */
export class TrackClock {
  readonly #stream: StreamClock;
  readonly #options: TrackClockOptions;
  #pending: { unit: AccessUnit; decodeTime: number } | undefined;
  #lastDuration: number;
  /** Where the track's next sample starts when the previous one was flushed. */
  #resumeAt: number | undefined;

  constructor(stream: StreamClock, options: TrackClockOptions) {
    this.#stream = stream;
    this.#options = options;
    this.#lastDuration = options.fixedDuration ?? options.defaultDuration;
  }

  get timescale(): number {
    return this.#options.timescale;
  }

  /** Takes `unit`; gives back the sample before it, now that its duration is known. */
  push(unit: AccessUnit): TimedSample | undefined {
    const { timescale, fixedDuration } = this.#options;
    let at = this.#ticks(this.#stream.map(unit.dts));
    const pending = this.#pending;
    if (!pending) {
      if (this.#resumeAt !== undefined && at < this.#resumeAt) {
        this.#stream.shift(((this.#resumeAt - at) * 1000) / timescale);
        at = this.#resumeAt;
      }
      this.#pending = { unit, decodeTime: Math.max(0, at) };
      return undefined;
    }
    let duration = at - pending.decodeTime;
    const maxGap = (MAX_GAP_MS * timescale) / 1000;
    const fixed = fixedDuration;
    let jumped: boolean;
    if (fixed !== undefined) {
      jumped = duration <= fixed / 2 || duration > maxGap;
      // Millisecond timestamps put an AAC frame 1–2 ms either side of its true length.
      if (jumped || Math.abs(duration - fixed) <= fixed / 2) duration = fixed;
    } else {
      jumped = duration <= 0 || duration > maxGap;
      if (jumped) duration = this.#lastDuration;
    }
    const next = pending.decodeTime + duration;
    if (jumped) this.#stream.shift(((next - at) * 1000) / timescale);
    this.#lastDuration = duration;
    this.#pending = { unit, decodeTime: next };
    return this.#timed(pending.unit, pending.decodeTime, duration);
  }

  /** The held sample, with the previous sample's duration (the stream ended, or its codec changed). */
  flush(): TimedSample | undefined {
    const pending = this.#pending;
    if (!pending) return undefined;
    this.#pending = undefined;
    this.#resumeAt = pending.decodeTime + this.#lastDuration;
    return this.#timed(pending.unit, pending.decodeTime, this.#lastDuration);
  }

  #timed(unit: AccessUnit, decodeTime: number, duration: number): TimedSample {
    return {
      unit,
      decodeTime,
      duration,
      compositionOffset: Math.round(((unit.pts - unit.dts) * this.#options.timescale) / 1000),
    };
  }

  #ticks(ms: number): number {
    return Math.round((ms * this.#options.timescale) / 1000);
  }
}
