import { hostname } from 'node:os';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { RevocationStore } from '../auth/revocations.js';
import type { StreamLeases } from '../media/stream-leases.js';
import { RedisConnection } from '../cluster/redis/redis-connection.js';
import { RedisStreamLeases } from '../cluster/redis/redis-stream-leases.js';
import { RedisRevocationStore } from '../cluster/redis/redis-revocation-store.js';
import { RedisStreamRuleStore } from '../cluster/redis/redis-stream-rule-store.js';
import { RedisSharedHash } from '../cluster/redis/redis-shared-hash.js';
import type { StreamRuleStore } from '../auth/stream-security.js';
import type { IngestKeyStore } from '../auth/ingest-keys.js';
import { RedisIngestKeyStore } from '../cluster/redis/redis-ingest-key-store.js';
import { RedisUsedTokens } from '../cluster/redis/redis-used-tokens.js';
import { sharedPassKeys } from '../cluster/redis/redis-pass-keys.js';
import type { PassKey } from '../delivery/pass/pass-keys.js';
import type { SharedStateFreshness, UsedTokenStore } from '../auth/authenticator.js';
import type { Component } from './lifecycle.js';
import type { NodeView, SessionDirectory, StreamEntry } from '../sessions/session-directory.js';
import { RedisNodeRegistry } from '../cluster/redis/redis-node-registry.js';
import { RedisNodeBus } from '../cluster/redis/redis-node-bus.js';
import { RedisStreamOwners } from '../cluster/redis/redis-stream-owners.js';
import { ClusterDirectory } from '../cluster/cluster-directory.js';
import { RedisEventRelay, type NodeEventFeed } from '../cluster/redis/redis-event-relay.js';
import type { RuntimeInputs } from './runtime.js';
import type { SessionSlots } from '../sessions/session-slots.js';
import { RedisSessionSlots } from '../cluster/redis/redis-session-slots.js';

export interface ClusterArea {
  /** This node's name: `cluster.nodeId`, else host name and process id. */
  nodeId: string;
  /** Shared when `cluster.redis` is set; undefined means this node's own (the other builders pick). */
  leases: StreamLeases | undefined;
  revocationStore: RevocationStore | undefined;
  streamRuleStore: StreamRuleStore | undefined;
  ingestKeyStore: IngestKeyStore | undefined;
  usedTokens: UsedTokenStore | undefined;
  /** Refuses new admissions while this node's copy of the shared lists may miss a change. */
  sharedState: SharedStateFreshness | undefined;
  /** Concurrent sessions per subject counted across the cluster; undefined: this node's own. */
  slots: SessionSlots | undefined;
  /** Pass keys shared by every node (created once in Redis); undefined: this node keeps its own. */
  passKeys: ((prefix: string) => Promise<PassKey[]>) | undefined;
  /**
   * Every node's sessions, streams and live events from this node's own (undefined outside a
   * cluster: the node's own are all there is).
   */
  directory: ClusterDirectoryFactory | undefined;
  /** Who publishes each stream (its node's internal listener), and where this node's is. */
  media:
    | {
        owners: RedisStreamOwners;
        /** Tells the other nodes where this node's internal listener listens (before it joins). */
        announce(url: string): void;
      }
    | undefined;
  components: Component[];
}

export type ClusterDirectoryFactory = <S extends StreamEntry, E extends { node: string }>(
  view: NodeView<S>,
  events: NodeEventFeed<E>,
) => { directory: SessionDirectory<S>; events: NodeEventFeed<E>; components: Component[] };

/** Nothing without `cluster`; with `cluster.redis`, the parts several nodes share through Redis. */
export async function buildCluster(
  config: Config,
  runtime: RuntimeInputs,
  log: Logger,
): Promise<ClusterArea> {
  const nodeId =
    config.cluster?.nodeId ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}:${process.pid}`;
  if (!config.cluster)
    return {
      nodeId,
      leases: undefined,
      revocationStore: undefined,
      streamRuleStore: undefined,
      ingestKeyStore: undefined,
      usedTokens: undefined,
      sharedState: undefined,
      slots: undefined,
      passKeys: undefined,
      directory: undefined,
      media: undefined,
      components: [],
    };
  const clusterLog = log.child({ component: 'cluster', node: nodeId });
  // Connected while building: a node that cannot reach Redis at start does not start (exit 1), and
  // its supervisor tries again; once up, it rides out Redis outages as documented.
  const redis = await RedisConnection.connect({
    url: config.cluster.redis.url,
    keyPrefix: config.cluster.redis.keyPrefix,
    commandTimeoutMs: runtime.ms.clusterCommandTimeout,
    log: clusterLog,
  });
  const leases = new RedisStreamLeases(redis, {
    nodeId,
    ttlMs: runtime.ms.clusterLeaseTtl,
    takeover: config.rtmp.publisherTakeover,
    log: clusterLog,
  });
  const shared = async (name: string) => RedisSharedHash.open(redis, name, nodeId, clusterLog);
  const hashes = [
    await shared('revocations'),
    await shared('stream-rules'),
    await shared('ingest-keys'),
  ] as const;
  const revocationStore = new RedisRevocationStore(hashes[0], clusterLog);
  const streamRuleStore = new RedisStreamRuleStore(hashes[1], clusterLog);
  const ingestKeyStore = new RedisIngestKeyStore(hashes[2], clusterLog);
  clusterLog.info(
    { event: 'cluster_joined' },
    'sharing stream leases, revocations, stream security, ingest keys and used tokens through Redis',
  );
  // The nodes alive (each one's internal address), and requests from one node to another.
  const nodes = new RedisNodeRegistry(redis, {
    info: { node: nodeId, internalUrl: undefined, startedAt: new Date().toISOString() },
    ttlMs: runtime.ms.clusterLeaseTtl,
    log: clusterLog,
  });
  const bus = new RedisNodeBus(redis, {
    node: nodeId,
    timeoutMs: runtime.ms.clusterCommandTimeout,
    log: clusterLog,
  });
  const slots = new RedisSessionSlots(redis, {
    nodeId,
    ttlMs: runtime.ms.clusterLeaseTtl,
    log: clusterLog,
  });
  await slots.start();
  const component: Component = {
    name: 'cluster',
    stop: async () => {
      leases.stop();
      slots.stop();
      await redis.close();
    },
  };
  return {
    nodeId,
    leases,
    revocationStore,
    streamRuleStore,
    ingestKeyStore,
    usedTokens: new RedisUsedTokens(redis, nodeId),
    sharedState: {
      assertCurrent: () => {
        for (const hash of hashes) hash.assertCurrent();
      },
    },
    slots,
    passKeys: (prefix) => sharedPassKeys(redis, prefix),
    directory: (view, events) => {
      const directory = new ClusterDirectory(view, bus, nodes, clusterLog);
      const relay = new RedisEventRelay(redis, events, nodeId, clusterLog);
      const joined: Component = {
        name: 'cluster directory',
        start: async () => {
          await bus.start(directory.handler);
          await relay.start();
          await nodes.start();
        },
        stop: async () => {
          relay.stop();
          await nodes.stop();
        },
      };
      return { directory, events: relay, components: [joined] };
    },
    media: {
      owners: new RedisStreamOwners(redis, nodes, nodeId),
      announce: (url) => nodes.setInternalUrl(url),
    },
    components: [component],
  };
}
