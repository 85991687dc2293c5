import { existsSync } from 'node:fs';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log/logger.js';
import type { LiveStream } from '../../media/live-stream.js';
import { buildFfmpegArgs, renditionPlaylist } from './ffmpeg-args.js';
import type { FfmpegDestination, RunContext, RunInput } from './ffmpeg-destination.js';
import { sourceInfo } from './flv-input.js';
import { KeyRotator } from './key-rotator.js';
import { writeMasterWhenReady } from './master-writer.js';
import { watchPlaylist } from './playlist-watchdog.js';
import { StreamDirectory } from '../stream-directory.js';

export interface HlsFilesDeps {
  hls: Config['hls'];
  mediaDir: string;
  log: Logger;
  /** The directory was left by a previous Stagedoor process: keep it and continue its playlists. */
  resume: boolean;
}

/**
 * FFmpeg writes the stream's HLS itself (MPEG-TS segments, optionally AES-128 with rotating keys)
 * into the stream directory, which delivery reads. The master playlist is written once every
 * rendition's playlist exists; a watchdog kills a run whose playlist stops moving.
 */
export class HlsFilesDestination implements FfmpegDestination {
  readonly dir: string;
  readonly #dir: StreamDirectory;
  readonly #stream: LiveStream;
  readonly #deps: HlsFilesDeps;
  readonly #log: Logger;
  #keys: KeyRotator | undefined;
  #masterWritten = false;
  #stopWatchdog: (() => void) | undefined;

  constructor(stream: LiveStream, deps: HlsFilesDeps) {
    this.#stream = stream;
    this.#deps = deps;
    // The run's lines read as the transcoder's own (they are about its FFmpeg and its files).
    this.#log = deps.log.child({ component: 'transcoder', stream: stream.key });
    this.#dir = new StreamDirectory(deps.mediaDir, stream.path);
    this.dir = this.#dir.path;
  }

  async prepare(): Promise<void> {
    if (this.#deps.resume) await this.#dir.ensure();
    else await this.#dir.prepareEmpty();
  }

  async nextRun(input: RunInput): Promise<{ args: string[]; outputPipes: number }> {
    const hls = this.#deps.hls;
    if (hls.encryption.enabled && !this.#keys)
      this.#keys = new KeyRotator(
        this.dir,
        Math.ceil(hls.playlistSize / hls.encryption.rotateEverySegments) + 3,
      );
    // FFmpeg cannot create its own output directory; the marker lets cleanup remove it later.
    await this.#dir.ensure();
    if (this.#keys && !existsSync(this.#keys.keyInfoFile)) await this.#keys.rotate();
    const args = buildFfmpegArgs({
      inputFormat: input.inputFormat,
      outputDir: this.dir,
      renditions: hls.renditions,
      segmentSec: hls.segmentSec,
      playlistSize: hls.playlistSize,
      tracks: input.tracks,
      videoCopyable: input.videoCopyable,
      probeBytes: input.probeBytes,
      append: input.continues || this.#deps.resume,
      keyInfoFile: this.#keys?.keyInfoFile,
    });
    return { args, outputPipes: 0 };
  }

  started(run: RunContext): void {
    const hls = this.#deps.hls;
    const log = this.#log;
    this.#keys?.rotateEvery(hls.segmentSec * hls.encryption.rotateEverySegments * 1000, (error) =>
      log.error({ err: error }, 'key rotation failed'),
    );
    if (!this.#masterWritten) {
      void writeMasterWhenReady({
        dir: this.dir,
        renditions: hls.renditions,
        isCurrent: () => run.isCurrent() && run.process.running,
        sourceInfo: (seconds) => sourceInfo(this.#stream.headers, (run.bytesFed() * 8) / seconds),
        log,
      }).then((written) => {
        if (!written) return;
        this.#masterWritten = true;
        run.playable();
      });
    }
    this.#stopWatchdog?.();
    this.#stopWatchdog = watchPlaylist({
      process: run.process,
      dir: this.dir,
      playlist: renditionPlaylist(hls.renditions[0]!.name),
      stallMs: Math.max(8_000, hls.segmentSec * 6000),
      isCurrent: run.isCurrent,
      paused: run.paused,
      log,
    });
  }

  /** When the first rendition's playlist last changed (FFmpeg rewrites it with each new segment). */
  lastSegmentAt(): number | undefined {
    return this.#dir.modifiedAt(renditionPlaylist(this.#deps.hls.renditions[0]!.name));
  }

  stopped(): Promise<void> {
    this.#keys?.stop();
    this.#stopWatchdog?.();
    return Promise.resolve();
  }

  async remove(): Promise<void> {
    await this.#dir.remove();
  }
}
