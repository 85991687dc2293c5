import { StagedoorError, toStagedoorError } from '../../errors.js';
import { formatStreamPath, type StreamPath } from '../../core/stream-path.js';
import type { RedisConnection } from './redis-connection.js';
import type { RedisNodeRegistry } from './redis-node-registry.js';

/** How long who publishes a stream is believed before Redis is asked again. */
const BELIEVED_MS = 1000;

/**
 * Which node publishes a stream, from its lease in Redis (`<node> <random>`) and the node
 * registry (where that node's internal listener is). Undefined when nobody publishes it or this
 * node does; NODE_UNREACHABLE when its node is not alive or has no internal listener. Answers are
 * kept for a second: a viewer's every request does not ask Redis. While Redis is away the owner
 * last known stays believed.
 */
export class RedisStreamOwners {
  readonly #redis: RedisConnection;
  readonly #nodes: Pick<RedisNodeRegistry, 'get'>;
  readonly #self: string;
  readonly #now: () => number;
  readonly #known = new Map<
    string,
    { until: number; owner: Promise<{ node: string; url: string; lease: string } | undefined> }
  >();

  constructor(
    redis: RedisConnection,
    nodes: Pick<RedisNodeRegistry, 'get'>,
    self: string,
    now: () => number = Date.now,
  ) {
    this.#redis = redis;
    this.#nodes = nodes;
    this.#self = self;
    this.#now = now;
  }

  ownerOf(stream: StreamPath): Promise<{ node: string; url: string; lease: string } | undefined> {
    const key = formatStreamPath(stream);
    const now = this.#now();
    const known = this.#known.get(key);
    if (known && known.until > now) return known.owner;
    // Redis away: the owner last known goes on serving this node's viewers (their sessions go on too).
    const last = known?.owner;
    const owner = this.#lookUp(key).catch((error: unknown) => {
      if (last && toStagedoorError(error).code === 'CLUSTER_UNAVAILABLE') return last;
      throw error;
    });
    this.#known.set(key, { until: now + BELIEVED_MS, owner });
    owner.catch(() => this.#known.delete(key));
    if (this.#known.size > 10_000) this.#known.delete(this.#known.keys().next().value as string);
    return owner;
  }

  async #lookUp(key: string): Promise<{ node: string; url: string; lease: string } | undefined> {
    const lease = await this.#redis.command<string | null>([
      'GET',
      this.#redis.key(`lease:${key}`),
    ]);
    if (lease === null) return undefined;
    const node = lease.slice(0, lease.lastIndexOf(' '));
    if (node === this.#self) return undefined;
    const info = await this.#nodes.get(node);
    if (!info?.internalUrl)
      throw new StagedoorError(
        'NODE_UNREACHABLE',
        info
          ? `node ${node} publishes ${key} but has no internal listener (cluster.internal)`
          : `node ${node}, which published ${key}, is not in the cluster any more`,
      );
    return { node, url: info.internalUrl, lease };
  }
}
