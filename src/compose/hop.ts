import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { MediaSource } from '../delivery/media-source.js';
import { HopSigner } from '../delivery/hop/hop-signature.js';
import { InternalMediaServer } from '../delivery/hop/internal-media-server.js';
import { ClusterMediaSource, RemoteMediaSource } from '../delivery/hop/remote-media-source.js';
import type { ClusterArea } from './cluster.js';
import type { Component } from './lifecycle.js';
import type { MediaArea } from './media.js';
import type { OutputsArea } from './outputs.js';

export interface HopArea {
  /** Where delivery reads media: this node's own, or in a cluster also the other nodes'. */
  source: MediaSource;
  components: Component[];
}

/**
 * With `cluster.internal`, any node serves any viewer: a stream published on another node is read
 * from its owner over the internal listener (signed requests), and this node's internal listener
 * answers the others from its own media. Without it, each node serves the streams it publishes.
 */
export function buildMediaHop(
  config: Config,
  log: Logger,
  cluster: Pick<ClusterArea, 'nodeId' | 'media'>,
  areas: { media: MediaArea; outputs: Pick<OutputsArea, 'source'> },
): HopArea {
  const local = areas.outputs.source;
  const internal = config.cluster?.internal;
  if (!internal || !cluster.media) return { source: local, components: [] };
  const hopLog = log.child({ component: 'hop', node: cluster.nodeId });
  const signer = new HopSigner(internal.secret);
  const server = new InternalMediaServer({ source: local, signer, log: hopLog });
  const remote = new RemoteMediaSource({
    node: cluster.nodeId,
    signer,
    cacheBytes: internal.cacheMb * 1024 * 1024,
  });
  const { hub } = areas.media;
  const publishedHere = (stream: { app: string; name: string }) => {
    const publisher = hub.get(stream)?.publisher;
    return publisher !== undefined && publisher !== null && !publisher.closed;
  };
  const source = new ClusterMediaSource(local, publishedHere, cluster.media.owners, remote);
  const { media } = cluster;
  const listener: Component = {
    name: 'internal listener',
    start: async () => {
      const address = await server.listen(internal.host, internal.port);
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const url = internal.url ?? `http://${host}:${address.port}`;
      media.announce(url);
      hopLog.info(
        { event: 'internal_listening', host: address.address, port: address.port, url },
        'other nodes read the streams published here through this listener',
      );
    },
    stop: () => server.close(),
  };
  return { source, components: [listener] };
}
