import { mkdir } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { StreamHub } from '../media/stream-hub.js';
import { locateFfmpeg } from '../outputs/ffmpeg/locate-ffmpeg.js';
import { Transcoder } from '../outputs/ffmpeg/transcoder.js';
import type { FfmpegDestination } from '../outputs/ffmpeg/ffmpeg-destination.js';
import { HlsFilesDestination } from '../outputs/ffmpeg/hls-files-destination.js';
import { PackagerDestination } from '../outputs/ffmpeg/packager-destination.js';
import { OutputManager, type OutputHooks } from '../outputs/output-manager.js';
import type { LiveStream } from '../media/live-stream.js';
import { DeferredOutput } from '../outputs/deferred-output.js';
import { encoderDestination, packagerFits } from '../outputs/output-choice.js';
import { Packager } from '../outputs/packager/packager.js';
import { PackagedMedia } from '../outputs/packager/packaged-media.js';
import { KeptWindow, loadKeptWindows } from '../outputs/packager/kept-windows.js';
import type { RenditionWindow } from '../outputs/packager/rendition-window.js';
import { StreamDirectory } from '../outputs/stream-directory.js';
import { checkStreamPath, type StreamPath } from '../core/stream-path.js';
import {
  DiskMediaSource,
  MemoryMediaSource,
  StreamMediaSources,
  type MediaSource,
} from '../delivery/media-source.js';
import type { Component } from './lifecycle.js';
import type { RuntimeInputs } from './runtime.js';

export interface OutputsArea {
  /** Undefined when `hls.enabled` is false. */
  outputs: OutputManager | undefined;
  /** Where delivery reads each stream: the packager's memory, or the files FFmpeg writes. */
  source: MediaSource;
  components: Component[];
}

/**
 * HLS for every live stream when HLS is on: once a stream's codecs are known, the in-process
 * packager for a passthrough it can take, else one supervised FFmpeg.
 */
export function buildOutputs(
  config: Config,
  runtime: RuntimeInputs,
  hub: StreamHub,
  log: Logger,
): OutputsArea {
  // FFmpeg is looked up before anything listens: a missing binary is a startup error, not a surprise.
  const ffmpeg = config.hls.enabled ? locateFfmpeg(config.hls.ffmpegPath) : undefined;
  const packaged = new PackagedMedia();
  const source = new StreamMediaSources(
    packaged,
    new MemoryMediaSource(packaged),
    new DiskMediaSource(config.mediaDir),
  );
  if (!ffmpeg) return { outputs: undefined, source, components: [] };
  // One `component` per line: the manager's lines say `outputs`, each FFmpeg's say `transcoder`.
  const outputLog = log.child({ component: 'outputs' });
  const outputs = new OutputManager({
    hub,
    createOutput: (stream, hooks, { resume }) => {
      const transcoder = (s: LiveStream) =>
        new Transcoder(s, {
          ffmpegPath: ffmpeg.path,
          destination: destination(s, resume),
          stopTimeoutMs: runtime.ms.ffmpegStopTimeout,
          restartBackoffMaxMs: runtime.ms.ffmpegRestartBackoffMax,
          log,
          onRestart: hooks.onRestart,
          onPlayable: hooks.onPlayable,
        });
      return new DeferredOutput(stream, {
        forRaw: transcoder,
        forUnits: (s) => {
          const fit = packagerFits(config.hls, s.headers);
          if (!fit.fits) {
            outputLog.info(
              {
                event: 'output_chosen',
                stream: s.key,
                output: 'ffmpeg',
                why: fit.why,
                to: encoderDestination(config.hls).to,
              },
              "ffmpeg encodes this stream's renditions",
            );
            return transcoder(s);
          }
          outputLog.info(
            { event: 'output_chosen', stream: s.key, output: 'packager' },
            'this stream is packaged in-process',
          );
          return packager(s, hooks, resume);
        },
      });
    },
    mediaDir: config.mediaDir,
    onLeftoverRemoved: (key) => {
      const windows = kept.get(key);
      kept.delete(key);
      if (!windows) return;
      packaged.unregister(pathOf(key), keptOwner);
      for (const window of windows) window.remove();
    },
    cleanupAfterMs: runtime.ms.hlsCleanupAfter,
    log: outputLog,
  });
  /** Windows the previous process kept (a restart while their streams were live), until claimed. */
  let kept = new Map<string, RenditionWindow[]>();
  const pathOf = (key: string): StreamPath =>
    checkStreamPath(...(key.split('/') as [string, string]));
  const keptOwner = {};
  const windowOptions = {
    partTargetSec: config.hls.packager.partTargetSec,
    segmentTargetSec: config.hls.segmentSec,
    playlistSize: config.hls.playlistSize,
    extraSegments: 2,
  };
  /**
   * Where a stream's FFmpeg puts its renditions: into the packager (LL-HLS from memory), unless
   * the packager is off or AES-128 is on (FFmpeg's own encrypted MPEG-TS HLS files then).
   */
  function destination(stream: LiveStream, resume: boolean): FfmpegDestination {
    const encoder = encoderDestination(config.hls);
    if (encoder.to === 'files') {
      // A previous run of the stream packaged here (or kept from the previous process) must not
      // answer for it any more: delivery would read its stale windows instead of FFmpeg's files.
      packaged.drop(stream.path);
      kept.delete(stream.key);
      return new HlsFilesDestination(stream, {
        hls: config.hls,
        mediaDir: config.mediaDir,
        log,
        resume,
      });
    }
    const keptWindows = resume ? kept.get(stream.key) : undefined;
    kept.delete(stream.key);
    const names = config.hls.renditions.map((r) => r.name);
    // Continued only when the previous process kept every rendition this config has.
    const windows =
      keptWindows && names.every((n) => keptWindows.some((w) => w.name === n))
        ? new Map(keptWindows.map((w) => [w.name, w]))
        : undefined;
    const starts = new Map(
      names.flatMap((n) => {
        const previous = packaged.windowOf(stream.path, n);
        return previous ? [[n, previous.position] as const] : [];
      }),
    );
    return new PackagerDestination(stream, {
      hls: config.hls,
      media: packaged,
      log,
      windows,
      starts,
      keep: new KeptWindow(new StreamDirectory(config.mediaDir, stream.path)),
    });
  }

  function packager(stream: LiveStream, hooks: OutputHooks, resume: boolean): Packager {
    const name = config.hls.renditions[0]!.name;
    const window = resume ? kept.get(stream.key)?.find((w) => w.name === name) : undefined;
    kept.delete(stream.key);
    // A stream published again goes on from its previous run's numbering: an edge may still hold
    // `copy_p0.m4s` of that run, so no name is used twice.
    const previous = window
      ? undefined
      : packaged.windowOf(stream.path, config.hls.renditions[0]!.name);
    return new Packager(stream, {
      window,
      start: previous?.position,
      keep: new KeptWindow(new StreamDirectory(config.mediaDir, stream.path)),
      media: packaged,
      rendition: config.hls.renditions[0]!.name,
      partTargetSec: config.hls.packager.partTargetSec,
      segmentTargetSec: config.hls.segmentSec,
      playlistSize: config.hls.playlistSize,
      hooks,
      log,
    });
  }
  const component: Component = {
    name: 'outputs',
    async start() {
      await mkdir(config.mediaDir, { recursive: true });
      const loaded = await loadKeptWindows(config.mediaDir, windowOptions, outputLog);
      // Served at once, as the previous process left them: players reload them until the
      // publisher is back and the packager continues them.
      for (const [key, { windows, master }] of loaded) {
        kept.set(key, windows);
        packaged.register(pathOf(key), keptOwner, windows);
        if (master !== undefined) packaged.setMaster(pathOf(key), keptOwner, master);
      }
      await outputs.adoptLeftovers();
      outputs.start();
      log.info(
        { event: 'ffmpeg_found', path: ffmpeg.path, version: ffmpeg.version },
        'ffmpeg found',
      );
    },
    stop: () => outputs.stop(),
  };
  return { outputs, source, components: [component] };
}
