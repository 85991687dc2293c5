import type { RedisConnection } from './redis-connection.js';

/**
 * A collection every node shares: a Redis hash (id → JSON), and a message on a channel after each
 * change, on which the other nodes re-read it (and again whenever their connection comes back, for
 * what they missed). Changes while Redis is away fail (CLUSTER_UNAVAILABLE).
 */
export class RedisSharedHash {
  readonly #redis: RedisConnection;
  readonly #name: string;
  readonly #nodeId: string;
  readonly #listeners: Array<() => void> = [];

  private constructor(redis: RedisConnection, name: string, nodeId: string) {
    this.#redis = redis;
    this.#name = name;
    this.#nodeId = nodeId;
  }

  /** The hash `<prefix><name>` and its channel of the same name. */
  static async open(
    redis: RedisConnection,
    name: string,
    nodeId: string,
  ): Promise<RedisSharedHash> {
    const hash = new RedisSharedHash(redis, name, nodeId);
    await redis.subscribe(name, (message) => {
      // Our own changes are in our copy already; another node's (or a reconnect) mean: re-read.
      if (message !== undefined && message.startsWith(`${nodeId} `)) return;
      for (const listener of hash.#listeners) listener();
    });
    return hash;
  }

  /** Every entry, parsed; entries that are not JSON are passed to `onUnreadable` and left out. */
  async entries(onUnreadable: (id: string) => void): Promise<Array<[string, unknown]>> {
    const reply = await this.#redis.command<Record<string, string> | string[]>([
      'HGETALL',
      this.#redis.key(this.#name),
    ]);
    // The client answers a field → value object (RESP2 would be a flat list of pairs).
    const pairs = Array.isArray(reply)
      ? reply.flatMap((v, i) => (i % 2 ? [] : [[v, reply[i + 1]!] as const]))
      : Object.entries(reply);
    const parsed: Array<[string, unknown]> = [];
    for (const [id, json] of pairs) {
      try {
        parsed.push([id, JSON.parse(json)]);
      } catch {
        onUnreadable(id);
      }
    }
    return parsed;
  }

  /** Sets and deletes entries, then tells the other nodes. */
  async change(set: ReadonlyArray<[string, unknown]>, removed: readonly string[]): Promise<void> {
    const key = this.#redis.key(this.#name);
    if (set.length)
      await this.#redis.command([
        'HSET',
        key,
        ...set.flatMap(([id, v]) => [id, JSON.stringify(v)]),
      ]);
    if (removed.length) await this.#redis.command(['HDEL', key, ...removed]);
    await this.#redis.publish(this.#name, `${this.#nodeId} changed`);
  }

  onRemoteChange(listener: () => void): void {
    this.#listeners.push(listener);
  }
}
