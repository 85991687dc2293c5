// FFmpeg's `-progress` output: `key=value` lines, a block per report ending `progress=continue`
// (or `progress=end`), every `-stats_period` seconds.

/** Where an FFmpeg run stands, from its latest progress report. */
export interface FfmpegProgress {
  /** Video frames output so far (this run). */
  frames: number;
  /** Output frames per second, as FFmpeg averages them. */
  fps: number;
  /** Media time made per second of wall time: below 1, the stream falls behind real time. */
  speed: number;
  droppedFrames: number;
  duplicatedFrames: number;
  /** Media time written so far, in seconds. */
  outTimeSec: number;
  /** When the report arrived (ms since the epoch). */
  at: number;
}

const MAX_LINE = 1024;
/** Rates are measured over at least this much wall time (reports can arrive bunched). */
const MIN_RATE_WINDOW_MS = 500;

/**
 * Reads progress reports from FFmpeg's progress pipe, keeping the latest. FFmpeg's own `fps` and
 * `speed` are averages since its start, which after an hour hide a stream that fell behind a minute
 * ago; so from the second report on, both are measured between reports: frames and media time made
 * per second of wall time, now.
 */
export class ProgressReader {
  #partial = '';
  #fields = new Map<string, string>();
  #latest: FfmpegProgress | undefined;
  /** The report the current rates were measured from. */
  #base: FfmpegProgress | undefined;

  get latest(): FfmpegProgress | undefined {
    return this.#latest;
  }

  push(chunk: string, now = Date.now()): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = (lines.pop() ?? '').slice(-MAX_LINE);
    for (const line of lines) {
      const cut = line.indexOf('=');
      if (cut <= 0) continue;
      const key = line.slice(0, cut).trim();
      const value = line.slice(cut + 1).trim();
      if (key !== 'progress') {
        if (this.#fields.size < 64) this.#fields.set(key, value);
        continue;
      }
      this.#record(progressOf(this.#fields, now));
      this.#fields = new Map();
    }
  }

  #record(report: FfmpegProgress): void {
    const base = this.#base;
    const previous = this.#latest;
    if (!base || !previous) {
      this.#latest = this.#base = report;
      return;
    }
    const seconds = (report.at - base.at) / 1000;
    if (seconds * 1000 < MIN_RATE_WINDOW_MS) {
      this.#latest = { ...report, fps: previous.fps, speed: previous.speed };
      return;
    }
    this.#latest = {
      ...report,
      fps: Math.max(0, (report.frames - base.frames) / seconds),
      speed: Math.max(0, (report.outTimeSec - base.outTimeSec) / seconds),
    };
    this.#base = report;
  }
}

function progressOf(fields: Map<string, string>, at: number): FfmpegProgress {
  const number = (key: string): number => {
    const value = Number.parseFloat(fields.get(key) ?? '');
    return Number.isFinite(value) ? value : 0;
  };
  return {
    frames: number('frame'),
    fps: number('fps'),
    speed: number('speed'), // "1.01x" reads as 1.01; "N/A" as 0
    droppedFrames: number('drop_frames'),
    duplicatedFrames: number('dup_frames'),
    // out_time_us is microseconds; out_time_ms is too, despite its name.
    outTimeSec: number('out_time_us') / 1e6,
    at,
  };
}
