import { StagedoorError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { RedisConnection } from './redis-connection.js';

/** One re-read of what another node changed: a list taking the shared entries (rejects if it could not). */
export type RemoteChangeListener = () => Promise<void>;

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2000;

/**
 * A collection every node shares: a Redis hash (id → JSON), and a message on a channel after each
 * change, on which the other nodes re-read it. Messages sent while a node is cut off from Redis are
 * lost to it, so from the moment either of its connections drops, its copy counts as stale: it is
 * re-read once both connections are back, and again with backoff until a read succeeds. Until then
 * `current` is false, and what depends on the copy is refused (CLUSTER_UNAVAILABLE), not admitted.
 * Changes while Redis is away fail (CLUSTER_UNAVAILABLE).
 */
export class RedisSharedHash {
  readonly name: string;
  readonly #redis: RedisConnection;
  readonly #nodeId: string;
  readonly #log: Logger;
  readonly #listeners: RemoteChangeListener[] = [];
  /** Re-reads asked for (a change elsewhere, a lost connection) and the last one done. */
  #wanted = 0;
  #done = 0;
  /**
   * The re-read that must be done before the copy counts again: set by a lost connection or a failed
   * re-read (changes may be missed for as long as that lasts), not by a change being taken, which
   * takes a read's time, as it would on one node.
   */
  #needed = 0;
  #syncing = false;
  #staleSince: number | undefined;

  private constructor(redis: RedisConnection, name: string, nodeId: string, log: Logger) {
    this.#redis = redis;
    this.name = name;
    this.#nodeId = nodeId;
    this.#log = log;
  }

  /** The hash `<prefix><name>` and its channel of the same name. */
  static async open(
    redis: RedisConnection,
    name: string,
    nodeId: string,
    log: Logger,
  ): Promise<RedisSharedHash> {
    const hash = new RedisSharedHash(redis, name, nodeId, log);
    redis.onAvailability((up) => {
      // Lost: whatever changes now is missed until a re-read after both connections are back.
      if (!up) hash.#lost();
      else hash.#resync();
    });
    await redis.subscribe(name, (message) => {
      // Our own changes are in our copy already; another node's mean: re-read.
      if (message.startsWith(`${nodeId} `)) return;
      hash.#resync();
    });
    return hash;
  }

  /** True while this node's copy holds every change announced (connected, and re-read since a loss). */
  get current(): boolean {
    return this.#redis.ready && this.#done >= this.#needed;
  }

  /** CLUSTER_UNAVAILABLE while this node's copy may miss a change made elsewhere. */
  assertCurrent(): void {
    if (this.current) return;
    const since =
      this.#staleSince === undefined ? '' : ` since ${new Date(this.#staleSince).toISOString()}`;
    throw new StagedoorError(
      'CLUSTER_UNAVAILABLE',
      `this node's copy of the cluster's ${this.name} may be out of date${since} (Redis away or being re-read)`,
    );
  }

  /**
   * Every entry, parsed. One that is not JSON is passed to `notJson`, which says what stands for it
   * (undefined: it is left out).
   */
  async entries(
    notJson: (id: string, reason: string, text: string) => unknown,
  ): Promise<Array<[string, unknown]>> {
    const reply = await this.#redis.command<Record<string, string> | string[]>([
      'HGETALL',
      this.#redis.key(this.name),
    ]);
    // The client answers a field → value object (RESP2 would be a flat list of pairs).
    const pairs = Array.isArray(reply)
      ? reply.flatMap((v, i) => (i % 2 ? [] : [[v, reply[i + 1]!] as const]))
      : Object.entries(reply);
    const parsed: Array<[string, unknown]> = [];
    for (const [id, json] of pairs) {
      try {
        parsed.push([id, JSON.parse(json)]);
      } catch (error) {
        const standIn = notJson(id, `not JSON: ${(error as Error).message}`, json);
        if (standIn !== undefined) parsed.push([id, standIn]);
      }
    }
    return parsed;
  }

  /** Sets and deletes entries, then tells the other nodes. */
  async change(set: ReadonlyArray<[string, unknown]>, removed: readonly string[]): Promise<void> {
    const key = this.#redis.key(this.name);
    if (set.length)
      await this.#redis.command([
        'HSET',
        key,
        ...set.flatMap(([id, v]) => [id, JSON.stringify(v)]),
      ]);
    if (removed.length) await this.#redis.command(['HDEL', key, ...removed]);
    await this.#redis.publish(this.name, `${this.#nodeId} changed`);
  }

  /**
   * Calls `listener` to re-read after another node changed the entries, and after every loss of the
   * connection; a re-read that fails is tried again, backing off to 2 s, until one succeeds.
   */
  onRemoteChange(listener: RemoteChangeListener): void {
    this.#listeners.push(listener);
    // A change between the listener's first read and now would otherwise be missed.
    this.#resync();
  }

  /** The copy may miss changes from now until a re-read succeeds. */
  #lost(): void {
    this.#staleSince ??= Date.now();
    this.#needed = ++this.#wanted;
  }

  /** Asks for a re-read; one loop runs them, so many changes in a burst cost one read each round. */
  #resync(): void {
    this.#wanted++;
    if (this.#syncing) return;
    this.#syncing = true;
    void this.#syncLoop().finally(() => {
      this.#syncing = false;
    });
  }

  async #syncLoop(): Promise<void> {
    let delay = RETRY_FIRST_MS;
    let failures = 0;
    while (this.#done !== this.#wanted) {
      await this.#redis.whenReady();
      const target = this.#wanted;
      try {
        for (const listener of this.#listeners) await listener();
      } catch (error) {
        this.#staleSince ??= Date.now();
        this.#needed = Math.max(this.#needed, target);
        failures++;
        this.#log.warn(
          { event: 'shared_state_stale', shared: this.name, attempt: failures, err: error },
          'could not re-read shared state from Redis; trying again',
        );
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
        delay = Math.min(delay * 2, RETRY_MAX_MS);
        continue;
      }
      this.#done = target;
    }
    if (this.#staleSince !== undefined)
      this.#log.info(
        {
          event: 'shared_state_synced',
          shared: this.name,
          attempts: failures + 1,
          staleMs: this.#staleSince === undefined ? 0 : Date.now() - this.#staleSince,
        },
        'shared state re-read from Redis',
      );
    this.#staleSince = undefined;
  }
}
