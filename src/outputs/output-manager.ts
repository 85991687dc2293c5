import type { Logger } from '../log/logger.js';
import type { StreamHub } from '../media/stream-hub.js';
import type { LiveStream, MediaSink } from '../media/live-stream.js';
import type { RawSink } from '../media/raw-input.js';
import type { EndReason } from '../core/end-reasons.js';
import { StreamDirectory } from './stream-directory.js';

/**
 * What runs for one live stream to make its HLS: today one supervised FFmpeg (`Transcoder`), later
 * an in-process packager. It takes the stream's units (and a container publisher's bytes).
 */
export interface StreamOutput extends MediaSink, RawSink {
  readonly state: 'waiting' | 'running' | 'backoff' | 'ending' | 'ended';
  /** The running process, if the output runs one. */
  readonly pid: number | undefined;
  readonly restarts: number;
  /** Prepares an empty stream directory once `after` settles (a previous run's files are removed). */
  begin(after: Promise<unknown>): Promise<void>;
  /** A new publisher took the stream over: go on with its media, continuing the playlists. */
  restartForNewPublisher(): void;
  stop(reason: EndReason | 'shutdown'): Promise<void>;
  removeFiles(): Promise<void>;
}

export interface OutputManagerDeps {
  hub: StreamHub;
  /** Decides and builds what runs for a stream (the wiring passes the FFmpeg transcoder today). */
  createOutput: (
    stream: LiveStream,
    hooks: { onRestart: (stream: string) => void },
  ) => StreamOutput;
  mediaDir: string;
  /** How long a finished stream's files stay for late viewers. */
  cleanupAfterMs: number;
  log: Logger;
}

/** Owns one output per live stream: started when a publisher is admitted, ended with it. */
export class OutputManager {
  readonly #outputs = new Map<string, StreamOutput>();
  readonly #cleanups = new Map<string, NodeJS.Timeout>();
  /** Directory removals in flight: a new publisher's output waits for them before preparing. */
  readonly #removals = new Map<string, Promise<void>>();
  readonly #deps: OutputManagerDeps;
  #unsubscribe: (() => void) | undefined;
  readonly #restartListeners = new Set<(stream: string) => void>();

  constructor(deps: OutputManagerDeps) {
    this.#deps = deps;
  }

  get(streamKey: string): StreamOutput | undefined {
    return this.#outputs.get(streamKey);
  }

  list(): StreamOutput[] {
    return [...this.#outputs.values()];
  }

  /** Called each time a stream's FFmpeg is restarted after a crash (metrics count these). */
  onRestart(listener: (stream: string) => void): () => void {
    this.#restartListeners.add(listener);
    return () => this.#restartListeners.delete(listener);
  }

  /** Removes stream directories a previous run left behind (only ones Stagedoor marked as its own). */
  removeStaleOutput(): Promise<void> {
    return StreamDirectory.removeStale(this.#deps.mediaDir);
  }

  start(): void {
    this.#unsubscribe = this.#deps.hub.onStream((event, stream) => {
      if (event !== 'publish') return;
      const existing = this.#outputs.get(stream.key);
      if (existing && existing.state !== 'ending' && existing.state !== 'ended') {
        stream.setRawSink(existing);
        existing.restartForNewPublisher();
        return;
      }
      clearTimeout(this.#cleanups.get(stream.key));
      this.#cleanups.delete(stream.key);
      const output = this.#deps.createOutput(stream, {
        onRestart: (key) => {
          for (const listener of this.#restartListeners) listener(key);
        },
      });
      this.#outputs.set(stream.key, output);
      stream.setRawSink(output);
      // The old run must be gone, and its files too, before the new one prepares the directory:
      // otherwise a late removal deletes the directory the new FFmpeg writes into.
      const previous = Promise.all([existing?.stop('taken-over'), this.#removals.get(stream.key)]);
      output
        .begin(previous)
        .then(() => {
          if (stream.publisher) stream.attach(output);
        })
        .catch((error: unknown) =>
          this.#deps.log.error(
            { err: error, stream: stream.key },
            'cannot prepare the stream directory',
          ),
        );
      // When the publisher goes, the hub ends its sinks: the output stops, files go later.
      const stopWatching = this.#deps.hub.onStream((e, s) => {
        if (e !== 'unpublish' || s !== stream) return;
        stopWatching();
        if (s.publisher === null) s.setRawSink(undefined);
        void output.stop('publisher-gone').then(() => this.#scheduleCleanup(stream.key, output));
      });
    });
  }

  #scheduleCleanup(key: string, output: StreamOutput): void {
    const timer = setTimeout(() => {
      this.#cleanups.delete(key);
      if (this.#outputs.get(key) !== output) return;
      this.#outputs.delete(key);
      const removal = output
        .removeFiles()
        .catch((error: unknown) =>
          this.#deps.log.error({ err: error, stream: key }, 'cannot remove stream files'),
        )
        .finally(() => {
          if (this.#removals.get(key) === removal) this.#removals.delete(key);
        });
      this.#removals.set(key, removal);
    }, this.#deps.cleanupAfterMs);
    timer.unref();
    this.#cleanups.set(key, timer);
  }

  /** Stops every FFmpeg (graceful, then SIGKILL) and removes their files: nothing is left behind. */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    for (const timer of this.#cleanups.values()) clearTimeout(timer);
    this.#cleanups.clear();
    const all = [...this.#outputs.values()];
    this.#outputs.clear();
    await Promise.all(
      all.map(async (t) => {
        await t.stop('shutdown');
        await t.removeFiles();
      }),
    );
  }
}
