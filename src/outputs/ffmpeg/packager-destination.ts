import type { Readable } from 'node:stream';
import type { Config, RenditionConfig } from '../../config/schema.js';
import type { Logger } from '../../log/logger.js';
import type { LiveStream } from '../../media/live-stream.js';
import type { EndReason } from '../../core/end-reasons.js';
import { FlvReader } from '../../formats/flv/flv-reader.js';
import { unitFromFlv } from '../../formats/flv/flv-demux.js';
import { renderMasterPlaylist, type Variant } from '../../formats/hls/master-playlist.js';
import { RenditionWindow, type WindowSnapshot } from '../packager/rendition-window.js';
import { RenditionPackager } from '../packager/rendition-packager.js';
import type { PackagedMedia } from '../packager/packaged-media.js';
import type { StreamTracks } from '../packager/stream-tracks.js';
import { buildEncoderArgs } from './encoder-args.js';
import type { FfmpegDestination, RunContext, RunInput } from './ffmpeg-destination.js';
import { watchSegments } from './playlist-watchdog.js';
import { renditionPlaylist } from './ffmpeg-args.js';

/** The largest FLV tag FFmpeg's output may carry (a 4K key frame is a few MB). */
const MAX_TAG_BYTES = 32 * 1024 * 1024;
/** After FFmpeg exits, how long its pipes may take to hand over their last bytes. */
const DRAIN_MS = 2000;

export interface PackagerDestinationDeps {
  hls: Pick<Config['hls'], 'renditions' | 'segmentSec' | 'playlistSize'> & {
    packager: { partTargetSec: number };
  };
  media: PackagedMedia;
  log: Logger;
  /** Windows to continue, by rendition: the previous process's (a restart), or an earlier run's numbering. */
  windows?: ReadonlyMap<string, RenditionWindow> | undefined;
  starts?: ReadonlyMap<string, RenditionWindow['position']> | undefined;
  /** Keeps the windows for the next process when Stagedoor stops with the publisher live. */
  keep?:
    | {
        save(snapshots: WindowSnapshot[], master: string | undefined): Promise<void>;
        remove(): Promise<void>;
      }
    | undefined;
}

interface Rendition {
  config: RenditionConfig;
  window: RenditionWindow;
  packager: RenditionPackager;
  /** Bytes of its first segment, for the master's bandwidth. */
  firstSegment?: { bytes: number; seconds: number; tracks: StreamTracks };
}

/**
 * FFmpeg as an encoder: each rendition comes back as FLV on its own pipe and is packaged in this
 * process like a passthrough stream (CMAF parts and segments, LL-HLS), so every rendition is served
 * the same way and the ladder's segments and parts line up. Nothing is written to disk.
 */
export class PackagerDestination implements FfmpegDestination {
  readonly #stream: LiveStream;
  readonly #deps: PackagerDestinationDeps;
  readonly #log: Logger;
  readonly #renditions: Rendition[];
  #runs = 0;
  #pipes: Readable[] = [];
  #master: string | undefined;
  #stopWatchdog: (() => void) | undefined;

  constructor(stream: LiveStream, deps: PackagerDestinationDeps) {
    this.#stream = stream;
    this.#deps = deps;
    this.#log = deps.log.child({ component: 'packager', stream: stream.key });
    const { hls } = deps;
    this.#renditions = hls.renditions.map((config) => {
      const window =
        deps.windows?.get(config.name) ??
        new RenditionWindow({
          name: config.name,
          partTargetSec: hls.packager.partTargetSec,
          segmentTargetSec: hls.segmentSec,
          playlistSize: hls.playlistSize,
          extraSegments: 2,
          start: deps.starts?.get(config.name),
        });
      const rendition: Rendition = {
        config,
        window,
        packager: new RenditionPackager({
          window,
          partTargetSec: hls.packager.partTargetSec,
          segmentTargetSec: hls.segmentSec,
          log: this.#log,
          onSegment: (bytes, tracks) => {
            rendition.firstSegment ??= {
              bytes,
              seconds: window.lastSegmentDuration ?? hls.segmentSec,
              tracks,
            };
            this.#segmentMade();
          },
          onRefused: (why) =>
            this.#log.warn({ event: 'packager_refused', rendition: config.name }, why),
        }),
      };
      return rendition;
    });
    for (const r of this.#renditions) r.window.reportOn(this.#renditions.map((o) => o.window));
    if (deps.windows && deps.windows.size > 0) {
      this.#master = deps.media.masterOf(stream.path);
      this.#log.info(
        { event: 'packager_resumed' },
        "packager continues the previous process's playlists",
      );
    }
  }

  prepare(): Promise<void> {
    this.#deps.media.register(
      this.#stream.path,
      this,
      this.#renditions.map((r) => r.window),
    );
    return Promise.resolve();
  }

  nextRun(input: RunInput): Promise<{ args: string[]; outputPipes: number }> {
    const { hls } = this.#deps;
    const args = buildEncoderArgs({
      inputFormat: input.inputFormat,
      renditions: hls.renditions,
      segmentSec: hls.segmentSec,
      tracks: input.tracks,
      videoCopyable: input.videoCopyable,
      probeBytes: input.probeBytes,
    });
    return Promise.resolve({ args, outputPipes: hls.renditions.length });
  }

  #playable: (() => void) | undefined;

  started(run: RunContext): void {
    // A new run (a crash, a new publisher) follows on the same timeline after a discontinuity.
    if (this.#runs++ > 0) for (const r of this.#renditions) r.packager.restart();
    this.#pipes = [...run.process.outputs];
    this.#renditions.forEach((rendition, i) => this.#read(run, rendition, run.process.outputs[i]!));
    this.#stopWatchdog?.();
    this.#stopWatchdog = watchSegments({
      process: run.process,
      lastSegmentAt: () => this.lastSegmentAt(),
      stallMs: Math.max(8_000, this.#deps.hls.segmentSec * 6000),
      isCurrent: run.isCurrent,
      paused: run.paused,
      log: this.#log,
    });
    this.#playable = run.playable;
  }

  lastSegmentAt(): number | undefined {
    return this.#renditions[0]!.window.lastSegmentAt;
  }

  async stopped(reason: EndReason | 'shutdown'): Promise<void> {
    this.#stopWatchdog?.();
    if (reason !== 'shutdown') await drained(this.#pipes, DRAIN_MS);
    for (const r of this.#renditions) r.packager.flushQuietly();
    if (reason !== 'shutdown') {
      for (const r of this.#renditions) r.window.end();
      return;
    }
    // Stagedoor stopping with the publisher live leaves the playlists open for the next process.
    if (!this.#deps.keep || !this.#renditions.every((r) => r.window.ready)) return;
    await this.#deps.keep
      .save(
        this.#renditions.map((r) => r.window.snapshot()),
        this.#master,
      )
      .catch((error: unknown) =>
        this.#log.error(
          { err: error },
          'the packaged windows could not be kept for the next process',
        ),
      );
  }

  async remove(): Promise<void> {
    this.#deps.media.unregister(this.#stream.path, this);
    for (const r of this.#renditions) r.window.remove();
    await this.#deps.keep?.remove();
  }

  /** One rendition's FLV from FFmpeg, unit by unit into its packager, while its run is current. */
  #read(run: RunContext, rendition: Rendition, pipe: Readable): void {
    const reader = new FlvReader(MAX_TAG_BYTES, (packet) => {
      const unit = unitFromFlv(packet);
      if (!unit || !run.isCurrent()) return;
      try {
        rendition.packager.deliver(unit);
      } catch (error) {
        this.#log.error(
          { err: error, event: 'packager_failed', rendition: rendition.config.name },
          'the packager failed on a unit',
        );
        rendition.packager.resync();
      }
    });
    let broken = false;
    pipe.on('data', (chunk: Buffer) => {
      if (broken) return;
      try {
        reader.push(chunk);
      } catch (error) {
        // FFmpeg's own FLV should always parse; if not, the watchdog restarts the run.
        broken = true;
        this.#log.error(
          { err: error, event: 'encoder_output_unreadable', rendition: rendition.config.name },
          "ffmpeg's output cannot be read",
        );
      }
    });
    pipe.on('error', () => {
      /* the run's exit is reported by the transcoder */
    });
  }

  /** Once every rendition has a segment, the master playlist names them all. */
  #segmentMade(): void {
    if (this.#master !== undefined) return;
    if (!this.#renditions.every((r) => r.window.ready && r.firstSegment)) return;
    const variants = this.#renditions.map((r): Variant => {
      const { bytes, tracks } = r.firstSegment!;
      const seconds = Math.max(0.5, r.firstSegment!.seconds);
      // The first segment's rate with headroom (BANDWIDTH is a peak, RFC 8216bis §4.4.6.2), or a
      // rung's configured ceiling when that is higher.
      const measured = ((bytes * 8) / seconds) * 1.5;
      const configured =
        'copy' in r.config
          ? 0
          : (r.config.videoBitrateKbps * 1.1 + (tracks.audio ? r.config.audioBitrateKbps : 0)) *
            1000;
      return {
        uri: renditionPlaylist(r.config.name),
        bandwidth: Math.round(Math.max(64_000, measured, configured)),
        width: tracks.video?.width || undefined,
        height: tracks.video?.height || undefined,
        codecs: tracks.codecs,
      };
    });
    this.#master = renderMasterPlaylist(variants);
    this.#deps.media.setMaster(this.#stream.path, this, this.#master);
    this.#playable?.();
  }
}

/** Resolves once every pipe has ended or closed, or after `ms`. */
function drained(pipes: readonly Readable[], ms: number): Promise<void> {
  const open = pipes.filter((p) => !p.readableEnded && !p.destroyed);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    let left = open.length;
    const one = (): void => {
      if (--left === 0) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (const pipe of open) {
      let done = false;
      const once = (): void => {
        if (done) return;
        done = true;
        one();
      };
      pipe.once('end', once);
      pipe.once('close', once);
    }
  });
}
