import type { Logger } from '../../log/logger.js';
import type { RedisConnection } from './redis-connection.js';

/** What a node says about itself to the others. */
export interface NodeInfo {
  node: string;
  /** Where the other nodes reach its internal listener (the media hop); undefined without one. */
  internalUrl: string | undefined;
  startedAt: string;
}

export interface RedisNodeRegistryOptions {
  info: NodeInfo;
  /** A node that stops saying it is alive (it died) leaves the others' view after this. */
  ttlMs: number;
  log: Logger;
}

/**
 * The nodes of the cluster: each one writes `node:<id>` (its info) with a TTL and renews it every
 * third of it, and is in the set `nodes`. A node killed without a word drops out within the TTL;
 * the others then neither list it nor route to it, and forget it from the set.
 */
export class RedisNodeRegistry {
  readonly #redis: RedisConnection;
  readonly #options: RedisNodeRegistryOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(redis: RedisConnection, options: RedisNodeRegistryOptions) {
    this.#redis = redis;
    this.#options = options;
  }

  get self(): NodeInfo {
    return this.#options.info;
  }

  /** Where the other nodes reach this one's internal listener, once it listens (before `start`). */
  setInternalUrl(url: string): void {
    this.#options.info = { ...this.#options.info, internalUrl: url };
  }

  /** Announces this node and keeps announcing it; a failed round is retried on the next one. */
  async start(): Promise<void> {
    await this.#announce();
    this.#timer = setInterval(
      () =>
        void this.#announce().catch((error: unknown) =>
          this.#options.log.debug({ err: error }, 'could not renew this node in Redis'),
        ),
      Math.max(200, this.#options.ttlMs / 3),
    );
    this.#timer.unref();
  }

  /** Leaves the cluster: the others stop listing this node at once, not after the TTL. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    const { node } = this.#options.info;
    await this.#redis
      .command(['DEL', this.#redis.key(`node:${node}`)])
      .then(() => this.#redis.command(['SREM', this.#redis.key('nodes'), node]))
      .catch(() => {}); // Redis away: the entry lapses by itself
  }

  /** Every node alive now (this one included), by id. CLUSTER_UNAVAILABLE when Redis is away. */
  async live(): Promise<Map<string, NodeInfo>> {
    const members = await this.#redis.command<string[]>(['SMEMBERS', this.#redis.key('nodes')]);
    const live = new Map<string, NodeInfo>();
    if (members.length === 0) return live;
    const infos = await this.#redis.command<Array<string | null>>([
      'MGET',
      ...members.map((m) => this.#redis.key(`node:${m}`)),
    ]);
    const gone: string[] = [];
    members.forEach((member, i) => {
      const info = parseInfo(infos[i] ?? null);
      if (info) live.set(member, info);
      else gone.push(member);
    });
    if (gone.length > 0)
      void this.#redis.command(['SREM', this.#redis.key('nodes'), ...gone]).catch(() => {});
    return live;
  }

  /** One node's info if it is alive. */
  async get(node: string): Promise<NodeInfo | undefined> {
    return parseInfo(
      await this.#redis.command<string | null>(['GET', this.#redis.key(`node:${node}`)]),
    );
  }

  async #announce(): Promise<void> {
    const { info, ttlMs } = this.#options;
    const key = this.#redis.key(`node:${info.node}`);
    await this.#redis.command(['SET', key, JSON.stringify(info), 'PX', String(ttlMs)]);
    await this.#redis.command(['SADD', this.#redis.key('nodes'), info.node]);
  }
}

function parseInfo(value: string | null): NodeInfo | undefined {
  if (value === null) return undefined;
  try {
    const info = JSON.parse(value) as NodeInfo;
    return typeof info.node === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}
