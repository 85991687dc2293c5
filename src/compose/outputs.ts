import { mkdir } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { StreamHub } from '../media/stream-hub.js';
import { locateFfmpeg } from '../outputs/ffmpeg/locate-ffmpeg.js';
import { Transcoder } from '../outputs/ffmpeg/transcoder.js';
import { OutputManager } from '../outputs/output-manager.js';
import type { Component } from './lifecycle.js';
import type { RuntimeInputs } from './runtime.js';

export interface OutputsArea {
  /** Undefined when `hls.enabled` is false. */
  outputs: OutputManager | undefined;
  components: Component[];
}

/** HLS for every live stream when HLS is on: today one supervised FFmpeg per stream. */
export function buildOutputs(
  config: Config,
  runtime: RuntimeInputs,
  hub: StreamHub,
  log: Logger,
): OutputsArea {
  // FFmpeg is looked up before anything listens: a missing binary is a startup error, not a surprise.
  const ffmpeg = config.hls.enabled ? locateFfmpeg(config.hls.ffmpegPath) : undefined;
  if (!ffmpeg) return { outputs: undefined, components: [] };
  // One `component` per line: the manager's lines say `outputs`, each FFmpeg's say `transcoder`.
  const outputLog = log.child({ component: 'outputs' });
  const outputs = new OutputManager({
    hub,
    createOutput: (stream, hooks, { resume }) =>
      new Transcoder(stream, {
        ffmpegPath: ffmpeg.path,
        hls: config.hls,
        stopTimeoutMs: runtime.ms.ffmpegStopTimeout,
        restartBackoffMaxMs: runtime.ms.ffmpegRestartBackoffMax,
        mediaDir: config.mediaDir,
        log,
        onRestart: hooks.onRestart,
        onPlayable: hooks.onPlayable,
        resume,
      }),
    mediaDir: config.mediaDir,
    cleanupAfterMs: runtime.ms.hlsCleanupAfter,
    log: outputLog,
  });
  const component: Component = {
    name: 'outputs',
    async start() {
      await mkdir(config.mediaDir, { recursive: true });
      await outputs.adoptLeftovers();
      outputs.start();
      log.info(
        { event: 'ffmpeg_found', path: ffmpeg.path, version: ffmpeg.version },
        'ffmpeg found',
      );
    },
    stop: () => outputs.stop(),
  };
  return { outputs, components: [component] };
}
