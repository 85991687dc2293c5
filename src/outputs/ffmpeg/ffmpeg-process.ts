import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { ProgressReader, type FfmpegProgress } from './ffmpeg-progress.js';

/** How an FFmpeg run ended. */
export type ExitKind =
  /** We stopped it (SIGTERM/SIGKILL after a stop request). */
  | 'stopped'
  /** It finished by itself with code 0 (its input ended). */
  | 'finished'
  /** It died on its own: non-zero code or a signal we did not send. */
  | 'crashed'
  /** It never ran: binary missing or not executable. */
  | 'spawn-failed';

export interface ExitInfo {
  kind: ExitKind;
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

const STDERR_LINES = 60;

/**
 * One FFmpeg child: spawned with an argument array (never a shell), stderr kept in a ring buffer
 * for the log, and a stop that escalates from closing stdin to SIGTERM to SIGKILL.
 */
export class FfmpegProcess {
  readonly #child: ChildProcess;
  readonly #stderr: string[] = [];
  #partial = '';
  readonly #progress = new ProgressReader();
  #stopRequested = false;
  readonly exited: Promise<ExitInfo>;
  readonly startedAt = Date.now();

  /** What FFmpeg writes on fd 3 on (`pipe:3`…), one pipe per output the arguments send there. */
  readonly outputs: readonly Readable[];

  constructor(ffmpegPath: string, args: readonly string[], { outputPipes = 0 } = {}) {
    // stdout carries `-progress pipe:1` reports (if the arguments ask for them).
    const stdio = Array.from({ length: 3 + outputPipes }, () => 'pipe' as const);
    this.#child = spawn(ffmpegPath, args, { stdio, detached: false });
    this.outputs = this.#child.stdio.slice(3) as Readable[];
    this.#child.stdout!.setEncoding('utf8');
    this.#child.stdout!.on('data', (chunk: string) => this.#progress.push(chunk));
    this.#child.stdin!.on('error', () => {
      /* EPIPE when FFmpeg dies mid-write; the exit handler reports it */
    });
    this.#child.stderr!.setEncoding('utf8');
    this.#child.stderr!.on('data', (chunk: string) => this.#collect(chunk));
    this.exited = new Promise((resolve) => {
      this.#child.once('error', (error) => {
        if (this.#child.pid === undefined)
          resolve({ kind: 'spawn-failed', code: null, signal: null, error });
      });
      this.#child.once('exit', (code, signal) => {
        const kind: ExitKind = this.#stopRequested
          ? 'stopped'
          : code === 0
            ? 'finished'
            : 'crashed';
        resolve({ kind, code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get stdin(): Writable {
    return this.#child.stdin!;
  }

  get running(): boolean {
    return (
      this.#child.exitCode === null &&
      this.#child.signalCode === null &&
      this.#child.pid !== undefined
    );
  }

  /** Its latest `-progress` report. */
  get progress(): FfmpegProgress | undefined {
    return this.#progress.latest;
  }

  /** The last lines FFmpeg wrote to stderr. */
  stderrTail(): string {
    return [...this.#stderr, this.#partial].filter(Boolean).join('\n');
  }

  /**
   * Ends the run: closes stdin so FFmpeg can finish its playlists, then SIGTERM after `graceMs`,
   * then SIGKILL after another `graceMs`. Resolves when the process is gone (no zombie). With
   * `finish: false` it is terminated at once; with `leaveOpen` killed outright, so that it writes
   * no #EXT-X-ENDLIST and a later run can continue its playlists (a restart of Stagedoor).
   */
  async stop(graceMs: number, { finish = true, leaveOpen = false } = {}): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    if (leaveOpen) {
      // Killed before its stdin closes: an EOF first would let it write its trailer (ENDLIST).
      this.#stopRequested = true;
      this.#child.kill('SIGKILL');
      this.#child.stdin?.destroy();
      return this.exited;
    }
    const stdin = this.#child.stdin!;
    const terminate = (): void => {
      this.#stopRequested = true;
      this.#child.kill('SIGTERM');
    };
    const timers: NodeJS.Timeout[] = [];
    if (finish) {
      if (!stdin.destroyed) stdin.end();
      timers.push(setTimeout(terminate, graceMs));
    } else {
      stdin.destroy();
      terminate();
    }
    timers.push(setTimeout(() => this.#child.kill('SIGKILL'), finish ? graceMs * 2 : graceMs));
    const info = await this.exited;
    for (const t of timers) clearTimeout(t);
    return info;
  }

  #collect(chunk: string): void {
    const text = this.#partial + chunk;
    const lines = text.split(/\r?\n/);
    this.#partial = (lines.pop() ?? '').slice(-2000);
    for (const line of lines) {
      if (!line) continue;
      this.#stderr.push(line.slice(0, 2000));
      if (this.#stderr.length > STDERR_LINES) this.#stderr.shift();
    }
  }
}
