import { mkdir } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { StreamHub } from '../media/stream-hub.js';
import { locateFfmpeg } from '../transcode/locate-ffmpeg.js';
import { TranscodeManager } from '../transcode/transcode-manager.js';
import type { Component } from './lifecycle.js';

export interface MediaArea {
  hub: StreamHub;
  /** Undefined when `hls.enabled` is false. */
  transcoders: TranscodeManager | undefined;
  components: Component[];
}

/** The stream hub, and one supervised FFmpeg per live stream when HLS is on. */
export function buildMedia(config: Config, log: Logger): MediaArea {
  const hub = new StreamHub({
    publisherTakeover: config.rtmp.publisherTakeover,
    gopCacheBytes: config.rtmp.gopCacheBytes,
  });
  // FFmpeg is looked up before anything listens: a missing binary is a startup error, not a surprise.
  const ffmpeg = config.hls.enabled ? locateFfmpeg(config.hls.ffmpegPath) : undefined;
  if (!ffmpeg) return { hub, transcoders: undefined, components: [] };
  const transcoders = new TranscodeManager({
    hub,
    ffmpegPath: ffmpeg.path,
    hls: config.hls,
    mediaDir: config.mediaDir,
    log: log.child({ component: 'transcode' }),
  });
  const component: Component = {
    name: 'transcoders',
    async start() {
      await mkdir(config.mediaDir, { recursive: true });
      await transcoders.removeStaleOutput();
      transcoders.start();
      log.info(
        { event: 'ffmpeg_found', path: ffmpeg.path, version: ffmpeg.version },
        'ffmpeg found',
      );
    },
    stop: () => transcoders.stop(),
  };
  return { hub, transcoders, components: [component] };
}
