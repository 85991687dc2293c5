import type { Logger } from '../log/logger.js';
import type { StreamHub } from '../media/stream-hub.js';
import type { LiveStream, MediaSink } from '../media/live-stream.js';
import type { RawSink } from '../media/raw-input.js';
import type { EndReason } from '../core/end-reasons.js';
import { StreamDirectory } from './stream-directory.js';

/** How an output keeps up with its live stream (FFmpeg's `-progress` for the FFmpeg output). */
export interface OutputProgress {
  /** Frames per second output, and media time made per second of wall time (below 1: falling behind). */
  fps: number;
  speed: number;
  droppedFrames: number;
  duplicatedFrames: number;
  /** When it was reported (ms since the epoch). */
  at: number;
}

/** What an output tells the rest of the server as it runs. */
export interface OutputHooks {
  /** Its process was restarted after a crash. */
  onRestart: (stream: string) => void;
  /** The stream became playable (its master playlist exists), this long after its publish. */
  onPlayable: (stream: string, sincePublishMs: number) => void;
}

/** A process an output runs (FFmpeg), as operators and metrics see it. */
export interface OutputProcess {
  /** Undefined between a crash and its restart. */
  readonly pid: number | undefined;
  readonly restarts: number;
  readonly progress: OutputProgress | undefined;
}

/** What makes a stream's HLS: the in-process packager, or FFmpeg; `pending` until its codecs are known. */
export type OutputKind = 'pending' | 'packager' | 'ffmpeg';

/**
 * What runs for one live stream to make its HLS. It takes the stream's units (and a container
 * publisher's bytes, which only an FFmpeg output can read).
 */
export interface StreamOutput extends MediaSink, RawSink {
  readonly kind: OutputKind;
  readonly state: 'waiting' | 'running' | 'backoff' | 'ending' | 'ended';
  /** The process it runs, when it runs one. */
  readonly process: OutputProcess | undefined;
  /** What an operator should know (a copy rendition encoded, say). */
  readonly warnings: readonly string[];
  /** When the newest segment was written (ms since the epoch), if any is. */
  lastSegmentAt(): number | undefined;
  /** Prepares an empty stream directory once `after` settles (a previous run's files are removed). */
  begin(after: Promise<unknown>): Promise<void>;
  /** A new publisher took the stream over: go on with its media, continuing the playlists. */
  restartForNewPublisher(): void;
  stop(reason: EndReason | 'shutdown'): Promise<void>;
  removeFiles(): Promise<void>;
}

export interface OutputManagerDeps {
  hub: StreamHub;
  /**
   * Decides and builds what runs for a stream (the wiring passes the FFmpeg transcoder today).
   * `resume`: the stream's files were left by the previous process; continue them.
   */
  createOutput: (
    stream: LiveStream,
    hooks: OutputHooks,
    options: { resume: boolean },
  ) => StreamOutput;
  mediaDir: string;
  /** A directory the previous process left was removed unclaimed (its time was up). */
  onLeftoverRemoved?: (streamKey: string) => void;
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
  /** Directories of the previous process, until their publisher comes back or their time is up. */
  readonly #leftovers = new Map<string, NodeJS.Timeout>();
  /** Outputs stopped by a shutdown with their publisher live: their files stay for the next process. */
  readonly #leftOpen = new WeakSet<StreamOutput>();
  readonly #deps: OutputManagerDeps;
  #unsubscribe: (() => void) | undefined;
  readonly #restartListeners = new Set<(stream: string) => void>();
  readonly #playableListeners = new Set<(stream: string, sincePublishMs: number) => void>();

  constructor(deps: OutputManagerDeps) {
    this.#deps = deps;
  }

  get(streamKey: string): StreamOutput | undefined {
    return this.#outputs.get(streamKey);
  }

  list(): StreamOutput[] {
    return [...this.#outputs.values()];
  }

  /** Each stream's output, by stream key. */
  streams(): Array<[string, StreamOutput]> {
    return [...this.#outputs.entries()];
  }

  /** Called each time a stream's FFmpeg is restarted after a crash (metrics count these). */
  onRestart(listener: (stream: string) => void): () => void {
    this.#restartListeners.add(listener);
    return () => this.#restartListeners.delete(listener);
  }

  /** Called when a stream becomes playable, with the time since its publish (metrics). */
  onPlayable(listener: (stream: string, sincePublishMs: number) => void): () => void {
    this.#playableListeners.add(listener);
    return () => this.#playableListeners.delete(listener);
  }

  /**
   * Stream directories a previous process left (a restart: only ones Stagedoor marked as its own)
   * are kept `cleanupAfterMs` for their publishers to come back to, and their players go on where
   * they were; then removed.
   */
  async adoptLeftovers(): Promise<void> {
    for (const dir of await StreamDirectory.list(this.#deps.mediaDir)) {
      const key = `${dir.stream.app}/${dir.stream.name}`;
      const timer = setTimeout(() => {
        this.#leftovers.delete(key);
        this.#deps.onLeftoverRemoved?.(key);
        this.#remove(key, () => dir.remove());
      }, this.#deps.cleanupAfterMs);
      timer.unref();
      this.#leftovers.set(key, timer);
    }
    if (this.#leftovers.size > 0)
      this.#deps.log.info(
        { event: 'streams_left', streams: [...this.#leftovers.keys()] },
        'stream files of the previous process kept for their publishers to resume',
      );
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
      const leftover = this.#leftovers.get(stream.key);
      clearTimeout(leftover);
      this.#leftovers.delete(stream.key);
      const hooks: OutputHooks = {
        onRestart: (key) => {
          for (const listener of this.#restartListeners) listener(key);
        },
        onPlayable: (key, ms) => {
          for (const listener of this.#playableListeners) listener(key, ms);
        },
      };
      const output = this.#deps.createOutput(stream, hooks, { resume: leftover !== undefined });
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
      // When the publisher goes, the hub ends its sinks: the output stops, files go later. When
      // Stagedoor is shutting down, the playlists stay open and the files stay for the next process.
      const stopWatching = this.#deps.hub.onStream((e, s, reason) => {
        if (e !== 'unpublish' || s !== stream) return;
        stopWatching();
        if (s.publisher === null) s.setRawSink(undefined);
        if (reason === 'shutdown') {
          this.#leftOpen.add(output);
          void output.stop('shutdown');
          return;
        }
        void output.stop('publisher-gone').then(() => this.#scheduleCleanup(stream.key, output));
      });
    });
  }

  #scheduleCleanup(key: string, output: StreamOutput): void {
    const timer = setTimeout(() => {
      this.#cleanups.delete(key);
      if (this.#outputs.get(key) !== output) return;
      this.#outputs.delete(key);
      this.#remove(key, () => output.removeFiles());
    }, this.#deps.cleanupAfterMs);
    timer.unref();
    this.#cleanups.set(key, timer);
  }

  /** Removes a stream's files, tracked so that a new publisher's output waits for it to finish. */
  #remove(key: string, remove: () => Promise<void>): void {
    const removal = remove()
      .catch((error: unknown) =>
        this.#deps.log.error({ err: error, stream: key }, 'cannot remove stream files'),
      )
      .finally(() => {
        if (this.#removals.get(key) === removal) this.#removals.delete(key);
      });
    this.#removals.set(key, removal);
  }

  /**
   * Stops every FFmpeg; nothing is left running. Streams that ended are removed now; live ones keep
   * their files and open playlists, for the next process to continue (see `adoptLeftovers`).
   */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    for (const timer of [...this.#cleanups.values(), ...this.#leftovers.values()])
      clearTimeout(timer);
    this.#cleanups.clear();
    this.#leftovers.clear();
    const all = [...this.#outputs.values()];
    this.#outputs.clear();
    await Promise.all(
      all.map(async (output) => {
        const live = output.state !== 'ending' && output.state !== 'ended';
        await output.stop('shutdown');
        if (!live && !this.#leftOpen.has(output)) await output.removeFiles();
      }),
    );
  }
}
