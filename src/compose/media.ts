import type { Config } from '../config/schema.js';
import type { ClusterArea } from './cluster.js';
import { StreamHub } from '../media/stream-hub.js';
import { LocalStreamLeases, type StreamLeases } from '../media/stream-leases.js';

export interface MediaArea {
  hub: StreamHub;
  leases: StreamLeases;
}

/** The stream hub (units fanned out to players and outputs) and the one-publisher-per-stream leases. */
export function buildMedia(config: Config, cluster: Pick<ClusterArea, 'leases'>): MediaArea {
  const takeover = config.rtmp.publisherTakeover;
  return {
    hub: new StreamHub({ publisherTakeover: takeover, gopCacheBytes: config.rtmp.gopCacheBytes }),
    leases: cluster.leases ?? new LocalStreamLeases({ takeover }),
  };
}
