import { readdir, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import type { Config } from '../config/schema.js';
import type { StreamHub } from '../media/stream-hub.js';
import { STREAM_DIR_MARKER, Transcoder } from './transcoder.js';

export interface TranscodeManagerDeps {
  hub: StreamHub;
  ffmpegPath: string;
  hls: Config['hls'];
  mediaDir: string;
  log: Logger;
}

/** Owns one Transcoder per live stream: started when a publisher is admitted, ended with it. */
export class TranscodeManager {
  readonly #transcoders = new Map<string, Transcoder>();
  readonly #cleanups = new Map<string, NodeJS.Timeout>();
  /** Directory removals in flight: a new publisher's transcoder waits for them before preparing. */
  readonly #removals = new Map<string, Promise<void>>();
  readonly #deps: TranscodeManagerDeps;
  #unsubscribe: (() => void) | undefined;
  readonly #restartListeners = new Set<(stream: string) => void>();

  constructor(deps: TranscodeManagerDeps) {
    this.#deps = deps;
  }

  get(streamKey: string): Transcoder | undefined {
    return this.#transcoders.get(streamKey);
  }

  list(): Transcoder[] {
    return [...this.#transcoders.values()];
  }

  /** Called each time a stream's FFmpeg is restarted after a crash (metrics count these). */
  onRestart(listener: (stream: string) => void): () => void {
    this.#restartListeners.add(listener);
    return () => this.#restartListeners.delete(listener);
  }

  /** Removes stream directories a previous run left behind (only ones Stagedoor marked as its own). */
  async removeStaleOutput(): Promise<void> {
    const root = this.#deps.mediaDir;
    if (!existsSync(root)) return;
    for (const app of await readdir(root)) {
      const appDir = join(root, app);
      if (!(await stat(appDir)).isDirectory()) continue;
      for (const name of await readdir(appDir)) {
        const dir = join(appDir, name);
        if (existsSync(join(dir, STREAM_DIR_MARKER))) {
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
  }

  start(): void {
    this.#unsubscribe = this.#deps.hub.onStream((event, stream) => {
      if (event !== 'publish') return;
      const existing = this.#transcoders.get(stream.key);
      if (existing && existing.state !== 'ending' && existing.state !== 'ended') {
        existing.restartForNewPublisher();
        return;
      }
      clearTimeout(this.#cleanups.get(stream.key));
      this.#cleanups.delete(stream.key);
      const transcoder = new Transcoder(stream, {
        ffmpegPath: this.#deps.ffmpegPath,
        hls: this.#deps.hls,
        mediaDir: this.#deps.mediaDir,
        log: this.#deps.log,
        onRestart: (key) => {
          for (const listener of this.#restartListeners) listener(key);
        },
      });
      this.#transcoders.set(stream.key, transcoder);
      // The old run must be gone, and its files too, before the new one prepares the directory:
      // otherwise a late removal deletes the directory the new FFmpeg writes into.
      const previous = Promise.all([existing?.stop('taken-over'), this.#removals.get(stream.key)]);
      transcoder
        .begin(previous)
        .then(() => {
          if (stream.publisher) stream.attach(transcoder);
        })
        .catch((error: unknown) =>
          this.#deps.log.error(
            { err: error, stream: stream.key },
            'cannot prepare the stream directory',
          ),
        );
      // When the publisher goes, the hub ends its sinks: the transcoder stops, files go later.
      const stopWatching = this.#deps.hub.onStream((e, s) => {
        if (e !== 'unpublish' || s !== stream) return;
        stopWatching();
        void transcoder
          .stop('publisher-gone')
          .then(() => this.#scheduleCleanup(stream.key, transcoder));
      });
    });
  }

  #scheduleCleanup(key: string, transcoder: Transcoder): void {
    const timer = setTimeout(() => {
      this.#cleanups.delete(key);
      if (this.#transcoders.get(key) !== transcoder) return;
      this.#transcoders.delete(key);
      const removal = transcoder
        .removeFiles()
        .catch((error: unknown) =>
          this.#deps.log.error({ err: error, stream: key }, 'cannot remove stream files'),
        )
        .finally(() => {
          if (this.#removals.get(key) === removal) this.#removals.delete(key);
        });
      this.#removals.set(key, removal);
    }, this.#deps.hls.cleanupAfterSec * 1000);
    timer.unref();
    this.#cleanups.set(key, timer);
  }

  /** Stops every FFmpeg (graceful, then SIGKILL) and removes their files: nothing is left behind. */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    for (const timer of this.#cleanups.values()) clearTimeout(timer);
    this.#cleanups.clear();
    const all = [...this.#transcoders.values()];
    this.#transcoders.clear();
    await Promise.all(
      all.map(async (t) => {
        await t.stop('shutdown');
        await t.removeFiles();
      }),
    );
  }
}
