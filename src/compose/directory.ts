import type { Config } from '../config/schema.js';
import type { EventFeed } from '../observability/audit.js';
import { LocalSessionDirectory, type SessionDirectory } from '../sessions/session-directory.js';
import { LocalNodeView } from '../admin/views/local-node-view.js';
import type { StreamView } from '../admin/views/stream-views.js';
import type { ClusterArea } from './cluster.js';
import type { Component } from './lifecycle.js';
import type { MediaArea } from './media.js';
import type { ObservabilityArea } from './observability.js';
import type { OutputsArea } from './outputs.js';
import type { SessionsArea } from './sessions.js';

export interface DirectoryArea {
  /** What the admin API and dashboard list and kick: this node's, or every node's in a cluster. */
  directory: SessionDirectory<StreamView>;
  /** The live event feed: this node's audit, or every node's. */
  events: EventFeed;
  components: Component[];
}

/** This node's view of itself, and the directory operators read: local, or cluster-wide. */
export function buildDirectory(
  config: Config,
  cluster: Pick<ClusterArea, 'nodeId' | 'directory'>,
  areas: {
    sessions: SessionsArea;
    media: MediaArea;
    outputs: OutputsArea;
    observability: ObservabilityArea;
  },
): DirectoryArea {
  const view = new LocalNodeView(areas.sessions.registry, {
    node: cluster.nodeId,
    hub: areas.media.hub,
    outputs: areas.outputs.outputs,
    hls: config.hls,
  });
  const audit = areas.observability.audit;
  if (!cluster.directory)
    return { directory: new LocalSessionDirectory(view), events: audit, components: [] };
  return cluster.directory(view, audit);
}
