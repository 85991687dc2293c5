import {
  isRevocation,
  type Revocation,
  type RevocationChange,
  type RevocationStore,
} from '../../auth/revocations.js';
import type { Logger } from '../../log/logger.js';
import type { RedisConnection } from './redis-connection.js';

const HASH = 'revocations';
const CHANNEL = 'revocations';

/**
 * Revocations every node shares: a Redis hash (id → entry), and a message on a channel after each
 * change, on which every node re-reads the hash (and does so again whenever its connection comes
 * back, for what it missed). A change while Redis is away fails (CLUSTER_UNAVAILABLE): an operator
 * must know a revocation did not reach the cluster. Lookups never wait on Redis (the list's copy).
 */
export class RedisRevocationStore implements RevocationStore {
  readonly #redis: RedisConnection;
  readonly #nodeId: string;
  readonly #log: Logger;
  readonly #listeners: Array<() => void> = [];

  private constructor(redis: RedisConnection, nodeId: string, log: Logger) {
    this.#redis = redis;
    this.#nodeId = nodeId;
    this.#log = log;
  }

  static async create(
    redis: RedisConnection,
    nodeId: string,
    log: Logger,
  ): Promise<RedisRevocationStore> {
    const store = new RedisRevocationStore(redis, nodeId, log);
    await redis.subscribe(CHANNEL, (message) => {
      // Our own changes are already in our list; anything else (or a reconnect) means re-read.
      if (message !== undefined && message.startsWith(`${nodeId} `)) return;
      for (const listener of store.#listeners) listener();
    });
    return store;
  }

  async load(): Promise<Revocation[]> {
    const reply = await this.#redis.command<Record<string, string> | string[]>([
      'HGETALL',
      this.#redis.key(HASH),
    ]);
    // The client answers a field → value object (RESP2 would be a flat list of pairs).
    const pairs = Array.isArray(reply)
      ? reply.flatMap((v, i) => (i % 2 ? [] : [[v, reply[i + 1]!] as const]))
      : Object.entries(reply);
    const entries: Revocation[] = [];
    for (const [id, json] of pairs) {
      try {
        const entry: unknown = JSON.parse(json);
        if (isRevocation(entry)) entries.push(entry);
      } catch {
        this.#log.warn({ id }, 'unreadable revocation in Redis, ignored');
      }
    }
    return entries;
  }

  async save(change: RevocationChange): Promise<void> {
    const key = this.#redis.key(HASH);
    if (change.added)
      await this.#redis.command(['HSET', key, change.added.id, JSON.stringify(change.added)]);
    if (change.removed?.length) await this.#redis.command(['HDEL', key, ...change.removed]);
    await this.#redis.publish(CHANNEL, `${this.#nodeId} changed`);
  }

  onRemoteChange(listener: () => void): void {
    this.#listeners.push(listener);
  }
}
