import type { Logger } from '../../log/logger.js';
import type { LiveStream } from '../../media/live-stream.js';
import { isKeyFrame, tracksOf, type MediaUnit } from '../../media/media-unit.js';
import type { RawInput, RawWrite } from '../../media/raw-input.js';
import type { EndReason } from '../../core/end-reasons.js';
import { flvFileHeader, flvTag } from '../../formats/flv/flv-mux.js';
import { FfmpegProcess, type ExitInfo } from './ffmpeg-process.js';
import type { FfmpegProgress } from './ffmpeg-progress.js';
import { copyDecision } from '../copy-check.js';
import { flvHeaderBytes } from './flv-input.js';
import { ResumeBuffer } from './resume-buffer.js';
import type { FfmpegDestination } from './ffmpeg-destination.js';
import type { OutputProcess, StreamOutput } from '../output-manager.js';

/** FFmpeg is this far behind (bytes queued on its stdin): drop media until the next key frame. */
const MAX_STDIN_BACKLOG = 32 * 1024 * 1024;
/**
 * A WebM/MP4 publisher whose FFmpeg fails this many times in a row (each within 30 s of its
 * start) is ended: replaying its bytes keeps failing, and the publisher should hear so (4500)
 * rather than stream into nothing. An RTMP publisher is never ended this way (OBS has no way to be
 * told; a full disk, say, heals and its FFmpeg comes back).
 */
const MAX_RAW_FAILURES = 5;

export interface TranscoderDeps {
  ffmpegPath: string;
  /** What FFmpeg makes and where it goes: HLS files, or renditions for the packager. */
  destination: FfmpegDestination;
  /** Grace for FFmpeg to finish its playlists when stopped, before SIGKILL. */
  stopTimeoutMs: number;
  /** Longest wait between restarts of a crashed FFmpeg. */
  restartBackoffMaxMs: number;
  log: Logger;
  /** Counts restarts for metrics and tests. */
  onRestart?: (stream: string) => void;
  /** The stream became playable (its master playlist written), this long after its publish. */
  onPlayable?: (stream: string, sincePublishMs: number) => void;
}

type State = 'waiting' | 'running' | 'backoff' | 'ending' | 'ended';

/**
 * One live stream's FFmpeg: fed the publisher's units as FLV (or a WebSocket publisher's WebM/MP4
 * bytes, with a resume buffer standing in for the GOP cache) on stdin, supervised (restart with
 * backoff while the publisher is live), stopped gracefully (EXT-X-ENDLIST) when the publisher
 * goes, and its media removed `cleanupAfterSec` later. What it makes goes to its destination.
 */
export class Transcoder implements StreamOutput {
  readonly id: string;
  readonly kind = 'ffmpeg' as const;
  /** What an operator should know of this stream's output (shown by the admin API). */
  readonly warnings: string[] = [];
  readonly #destination: FfmpegDestination;
  readonly #stream: LiveStream;
  readonly #deps: TranscoderDeps;
  readonly #log: Logger;
  #state: State = 'waiting';
  #process: FfmpegProcess | undefined;
  #runs = 0;
  #failures = 0;
  #backoffTimer: NodeJS.Timeout | undefined;
  #dropUntilKeyFrame = false;
  #bytesFed = 0;
  #ended: Promise<void> | undefined;
  #ready: Promise<void> = Promise.resolve();
  #raw: RawInput | undefined;
  /** For raw input: the container header and latest GOP, for a restarted FFmpeg to start on. */
  #resume: ResumeBuffer | undefined;

  constructor(stream: LiveStream, deps: TranscoderDeps) {
    this.#stream = stream;
    this.#deps = deps;
    this.id = `transcoder:${stream.key}`;
    this.#destination = deps.destination;
    this.#log = deps.log.child({ component: 'transcoder', stream: stream.key });
  }

  /** FFmpeg as operators see it: its pid, how often it was restarted, its latest progress. */
  get process(): OutputProcess {
    return this;
  }

  get pid(): number | undefined {
    return this.#process?.running ? this.#process.pid : undefined;
  }

  get restarts(): number {
    return Math.max(0, this.#runs - 1);
  }

  get state(): State {
    return this.#state;
  }

  /** The running FFmpeg's latest progress report. */
  get progress(): FfmpegProgress | undefined {
    return this.#process?.running ? this.#process.progress : undefined;
  }

  lastSegmentAt(): number | undefined {
    return this.#destination.lastSegmentAt();
  }

  /** Prepares the destination once `after` settles (a previous run's files are removed). */
  begin(after: Promise<unknown>): Promise<void> {
    this.#ready = after.then(() => this.#destination.prepare());
    return this.#ready;
  }

  /** Switches to raw input (WebSocket WebM/MP4) and starts FFmpeg on it. */
  async startRaw(raw: RawInput): Promise<void> {
    await this.#ready;
    if (this.#state !== 'waiting') return;
    this.#raw = raw;
    // Half the buffer cap for the replayed GOP: a restarted FFmpeg's backlog stays under the cap.
    this.#resume = new ResumeBuffer(raw.format, {
      maxHeaderBytes: Math.min(1024 * 1024, raw.maxBufferedBytes / 4),
      maxGopBytes: raw.maxBufferedBytes / 2,
    });
    // Resolve only once FFmpeg exists: the publisher flushes what it buffered right after.
    await this.#spawn();
  }

  /**
   * Hands raw container bytes to FFmpeg; says when to stop reading, or that the cap is blown.
   * Between an FFmpeg crash and its restart the bytes only feed the resume buffer.
   */
  writeRaw(chunk: Buffer): RawWrite {
    if (!this.#raw || this.#state === 'ending' || this.#state === 'ended') return 'ok';
    const resume = this.#resume!;
    const wasResumable = resume.unresumable === undefined;
    resume.push(chunk);
    if (wasResumable && resume.unresumable) {
      this.#log.warn(
        { event: 'resume_off', reason: resume.unresumable },
        'an ffmpeg crash will end this publisher: its stream cannot be resumed',
      );
    }
    // Waiting only after a failed run: restart as soon as there is a key frame to start from.
    if (this.#state === 'waiting' && resume.canResume) void this.#spawn();
    const process = this.#process;
    if (!process || this.#state !== 'running') return 'ok';
    if (process.stdin.writableLength + chunk.length > this.#raw.maxBufferedBytes) return 'overflow';
    this.#bytesFed += chunk.length;
    return process.stdin.write(chunk) ? 'ok' : 'backpressure';
  }

  /** Calls `listener` once FFmpeg's stdin has drained (or closed: a crashed FFmpeg drains nothing). */
  onceDrained(listener: () => void): void {
    const process = this.#process;
    if (!process) return listener();
    const done = (): void => {
      process.stdin.off('drain', done);
      process.stdin.off('close', done);
      listener();
    };
    process.stdin.once('drain', done);
    process.stdin.once('close', done);
  }

  deliver(unit: MediaUnit): void {
    if (this.#raw) return;
    if (this.#state === 'waiting') {
      if (!isKeyFrame(unit)) return;
      void this.#spawn();
      return; // the key frame is part of the startup units written at spawn
    }
    if (this.#state !== 'running' || !this.#process) return;
    this.#feed(unit);
  }

  /** The publisher is gone: let FFmpeg finish the playlists, then remove the files later. */
  end(reason: EndReason): void {
    void this.stop(reason);
  }

  /** A new publisher took the stream over: restart FFmpeg on its media, continuing the playlists. */
  restartForNewPublisher(): void {
    if (this.#state === 'ending' || this.#state === 'ended') return;
    const old = this.#process;
    this.#process = undefined;
    this.#state = 'waiting';
    if (old) void old.stop(this.#deps.stopTimeoutMs, { finish: false });
  }

  stop(reason: EndReason | 'shutdown'): Promise<void> {
    this.#ended ??= (async () => {
      this.#state = 'ending';
      clearTimeout(this.#backoffTimer);
      const process = this.#process;
      if (process) {
        // Stagedoor shutting down with the publisher still live: leave the playlists open for the
        // next process to continue. The publisher gone: let FFmpeg finish them (#EXT-X-ENDLIST).
        const leaveOpen = reason === 'shutdown';
        const info = await process.stop(this.#deps.stopTimeoutMs, { finish: true, leaveOpen });
        this.#log.info(
          {
            event: 'ffmpeg_stopped',
            reason,
            kind: info.kind,
            code: info.code,
            signal: info.signal,
          },
          'ffmpeg stopped',
        );
      }
      await this.#destination.stopped(reason);
      this.#state = 'ended';
    })();
    return this.#ended;
  }

  /** Removes the stream's media (`cleanupAfterSec` after the stream ended). */
  async removeFiles(): Promise<void> {
    await this.#destination.remove();
  }

  /** Starts a run; resolves once FFmpeg is spawned (or the start failed and a restart is scheduled). */
  #spawn(): Promise<void> {
    const raw = this.#raw;
    const tracks = raw?.tracks ?? tracksOf(this.#stream.headers);
    const copy = raw ? undefined : copyDecision(this.#stream.headers.video);
    if (copy?.warning && !this.warnings.includes(copy.warning))
      this.#log.warn(
        { event: 'copy_reencoded' },
        this.warnings[this.warnings.push(copy.warning) - 1],
      );
    const continues = this.#runs > 0;
    this.#state = 'running';
    const start = async (): Promise<void> => {
      const { args, outputPipes } = await this.#destination.nextRun({
        inputFormat: raw?.format ?? 'flv',
        tracks,
        videoCopyable: copy?.copyable,
        probeBytes: flvHeaderBytes(this.#stream.headers),
        continues,
      });
      if (this.#state !== 'running') return;
      const process = new FfmpegProcess(this.#deps.ffmpegPath, args, { outputPipes });
      this.#process = process;
      this.#runs++;
      if (this.#runs > 1) this.#deps.onRestart?.(this.#stream.key);
      this.#log.info(
        { event: 'ffmpeg_started', pid: process.pid, run: this.#runs, continues },
        'ffmpeg started',
      );
      this.#dropUntilKeyFrame = false;
      this.#destination.started({
        process,
        isCurrent: () => this.#process === process,
        paused: () => !this.#stream.publisher || this.#dropUntilKeyFrame,
        bytesFed: () => this.#bytesFed,
        playable: () => {
          const publisher = this.#stream.publisher;
          if (publisher)
            this.#deps.onPlayable?.(this.#stream.key, Date.now() - publisher.startedAt);
        },
      });
      if (!raw) {
        process.stdin.write(flvFileHeader(tracks.hasAudio));
        for (const unit of this.#stream.startupUnits()) this.#feed(unit);
      } else {
        // After a failed run: the container header, then the stream from its latest key frame on.
        // (A first run starts empty; the publisher's bytes follow through writeRaw.)
        const replay = this.#resume!.resumeBytes() ?? [];
        for (const bytes of replay) {
          this.#bytesFed += bytes.length;
          process.stdin.write(bytes);
        }
        if (replay.length > 0)
          this.#log.info(
            { event: 'ffmpeg_resumed', replayedBytes: replay.reduce((n, b) => n + b.length, 0) },
            'ffmpeg resumed from the latest key frame',
          );
      }
      void process.exited.then((info) => this.#onExit(process, info));
    };
    return start().catch((error: unknown) => {
      this.#log.error({ err: error }, 'ffmpeg start failed');
      this.#scheduleRestart();
    });
  }

  #feed(unit: MediaUnit): void {
    const process = this.#process!;
    if (this.#dropUntilKeyFrame) {
      if (!isKeyFrame(unit)) return;
      this.#dropUntilKeyFrame = false;
    }
    if (process.stdin.writableLength > MAX_STDIN_BACKLOG) {
      this.#log.warn(
        { event: 'transcoder_lagging', backlog: process.stdin.writableLength },
        'ffmpeg is not keeping up, dropping media until the next key frame',
      );
      this.#dropUntilKeyFrame = true;
      return;
    }
    const tag = flvTag(unit);
    this.#bytesFed += tag.length;
    process.stdin.write(tag);
  }

  #onExit(process: FfmpegProcess, info: ExitInfo): void {
    if (this.#process !== process) return; // an older run, replaced on purpose
    if (this.#state === 'ending' || this.#state === 'ended') return;
    this.#process = undefined;
    const uptime = Date.now() - process.startedAt;
    this.#log.error(
      {
        event: 'ffmpeg_exited',
        kind: info.kind,
        code: info.code,
        signal: info.signal,
        uptimeMs: uptime,
        stderr: process.stderrTail(),
        error: info.error?.message,
      },
      'ffmpeg exited while the publisher is live',
    );
    if (uptime > 30_000) this.#failures = 0;
    if (this.#raw) {
      const exit = `ffmpeg ${info.kind} (code ${info.code}, signal ${info.signal})`;
      const unresumable = this.#resume!.unresumable;
      const why = unresumable
        ? `cannot resume: ${unresumable}`
        : this.#failures + 1 >= MAX_RAW_FAILURES
          ? `failed ${this.#failures + 1} times in a row`
          : undefined;
      if (why) {
        this.#state = 'ended';
        this.#raw.onFailure(`${exit}; ${why}`);
        return;
      }
    }
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    if (this.#state === 'ending' || this.#state === 'ended') return;
    this.#failures++;
    const delay = Math.min(this.#deps.restartBackoffMaxMs, 250 * 2 ** (this.#failures - 1));
    this.#state = 'backoff';
    this.#backoffTimer = setTimeout(() => {
      // Restart on the next key frame so FFmpeg starts decodable (the GOP cache, or the resume
      // buffer for raw input, gives it one at once; otherwise the next one to arrive starts it).
      this.#state = 'waiting';
      if (this.#raw) {
        if (this.#resume!.canResume) void this.#spawn();
        return;
      }
      if (this.#stream.startupUnits().some(isKeyFrame)) void this.#spawn();
    }, delay);
    this.#backoffTimer.unref();
  }
}
