import { randomBytes } from 'node:crypto';
import { StagedoorError } from '../../errors.js';
import { formatStreamPath, type StreamPath } from '../../core/stream-path.js';
import type { Logger } from '../../log/logger.js';
import type { StreamLease, StreamLeases } from '../../media/stream-leases.js';
import type { RedisConnection } from './redis-connection.js';

/** Keeps the lease if it is ours, or takes it back if it lapsed and nobody took it (Redis was away). */
const RENEW = `
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] or not held then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

export interface RedisStreamLeasesOptions {
  nodeId: string;
  ttlMs: number;
  /** A new publisher on any node takes the stream from its holder (rtmp.publisherTakeover). */
  takeover: boolean;
  log: Logger;
}

/**
 * One publisher per stream across the cluster: `lease:<app>/<stream>` in Redis holds the owner
 * (`<node> <random>`) for `ttlMs`, renewed every third of it while the publisher is live. A node that
 * dies frees its streams after `ttlMs`. Redis away: a new publish is refused (CLUSTER_UNAVAILABLE);
 * live publishers go on, and their leases are taken back when Redis returns, unless another node
 * took the stream meanwhile: then the holder here is told (`onLost`) and its publisher cut.
 */
export class RedisStreamLeases implements StreamLeases {
  readonly #redis: RedisConnection;
  readonly #options: RedisStreamLeasesOptions;
  readonly #held = new Map<string, HeldLease>();
  #timer: NodeJS.Timeout | undefined;

  constructor(redis: RedisConnection, options: RedisStreamLeasesOptions) {
    this.#redis = redis;
    this.#options = options;
  }

  get size(): number {
    return this.#held.size;
  }

  async acquire(stream: StreamPath): Promise<StreamLease> {
    const name = formatStreamPath(stream);
    const key = this.#redis.key(`lease:${name}`);
    const owner = `${this.#options.nodeId} ${randomBytes(6).toString('base64url')}`;
    const ttl = String(this.#options.ttlMs);
    const set = this.#options.takeover
      ? ['SET', key, owner, 'PX', ttl]
      : ['SET', key, owner, 'NX', 'PX', ttl];
    if ((await this.#redis.command(set)) === null) throw new StagedoorError('STREAM_BUSY');
    const lease = new HeldLease(name, key, owner, () => this.#release(lease));
    this.#held.get(name)?.lose(); // a takeover from this very node: the older lease is gone
    this.#held.set(name, lease);
    this.#startRenewing();
    return lease;
  }

  /** Stops renewing; the leases lapse by themselves (a stopping node's publishers are cut anyway). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #release(lease: HeldLease): void {
    if (this.#held.get(lease.stream) !== lease) return;
    this.#held.delete(lease.stream);
    if (this.#held.size === 0) this.stop();
    this.#redis.deleteIfHeld(lease.key, lease.owner).catch((error: unknown) =>
      // Away now: the lease lapses after its TTL instead.
      this.#options.log.warn(
        { err: error, stream: lease.stream, event: 'lease_release_failed' },
        'could not give a stream lease back; it lapses by itself',
      ),
    );
  }

  #startRenewing(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#renewAll(), Math.max(200, this.#options.ttlMs / 3));
    this.#timer.unref();
  }

  async #renewAll(): Promise<void> {
    if (!this.#redis.ready) return; // live publishers go on; their leases are renewed when it returns
    const ttl = String(this.#options.ttlMs);
    for (const lease of [...this.#held.values()]) {
      let kept: unknown;
      try {
        kept = await this.#redis.command(['EVAL', RENEW, '1', lease.key, lease.owner, ttl]);
      } catch {
        continue; // Redis went away mid-round: try again next round
      }
      if (kept === 1 || this.#held.get(lease.stream) !== lease) continue;
      this.#held.delete(lease.stream);
      this.#options.log.warn(
        { event: 'lease_lost', stream: lease.stream },
        'another node holds this stream now: its publisher here is cut',
      );
      lease.lose();
    }
  }
}

class HeldLease implements StreamLease {
  readonly stream: string;
  readonly key: string;
  readonly owner: string;
  readonly #release: () => void;
  readonly #lostListeners: Array<() => void> = [];
  #done = false;

  constructor(stream: string, key: string, owner: string, release: () => void) {
    this.stream = stream;
    this.key = key;
    this.owner = owner;
    this.#release = release;
  }

  release(): void {
    if (this.#done) return;
    this.#done = true;
    this.#release();
  }

  onLost(listener: () => void): void {
    this.#lostListeners.push(listener);
  }

  lose(): void {
    if (this.#done) return;
    this.#done = true;
    for (const listener of this.#lostListeners) listener();
  }
}
