import type { Config } from '../config/schema.js';
import { StreamHub } from '../media/stream-hub.js';

export interface MediaArea {
  hub: StreamHub;
}

/** The stream hub: one publisher per stream, its units fanned out to players and outputs. */
export function buildMedia(config: Config): MediaArea {
  return {
    hub: new StreamHub({
      publisherTakeover: config.rtmp.publisherTakeover,
      gopCacheBytes: config.rtmp.gopCacheBytes,
    }),
  };
}
