import { createClient } from '@redis/client';
import { StagedoorError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { redactText } from '../../log/redact.js';

/** A client that never queues a command while Redis is away, and reconnects backing off to 2 s. */
function makeClient(url: string, connectTimeoutMs: number) {
  return createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: connectTimeoutMs,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
    },
  });
}
type Client = ReturnType<typeof makeClient>;

export interface RedisConnectionOptions {
  url: string;
  /** Prefix of every key and channel. */
  keyPrefix: string;
  /** One command waits this long at most; then Redis counts as away (CLUSTER_UNAVAILABLE). */
  commandTimeoutMs: number;
  log: Logger;
}

/**
 * The cluster's one connection to Redis (plus one for subscriptions). Commands never queue while
 * Redis is away: they fail at once, or after `commandTimeoutMs`, as CLUSTER_UNAVAILABLE, so that
 * callers decide (refuse a new publish, keep a live one). It reconnects by itself, backing off to 2 s.
 */
export class RedisConnection {
  readonly keyPrefix: string;
  readonly #client: Client;
  readonly #subscriber: Client;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  readonly #where: string;
  #down = false;

  private constructor(client: Client, subscriber: Client, options: RedisConnectionOptions) {
    this.#client = client;
    this.#subscriber = subscriber;
    this.keyPrefix = options.keyPrefix;
    this.#timeoutMs = options.commandTimeoutMs;
    this.#log = options.log;
    this.#where = redactText(options.url);
    for (const c of [client, subscriber]) {
      c.on('error', (error: Error) => this.#wentDown(error));
      c.on('ready', () => this.#cameBack());
    }
  }

  /** Connects both clients; CLUSTER_UNAVAILABLE if Redis cannot be reached now. */
  static async connect(options: RedisConnectionOptions): Promise<RedisConnection> {
    const client = makeClient(options.url, options.commandTimeoutMs);
    const subscriber = makeClient(options.url, options.commandTimeoutMs);
    const connection = new RedisConnection(client, subscriber, options);
    try {
      await withTimeout(
        Promise.all([client.connect(), subscriber.connect()]),
        options.commandTimeoutMs * 2,
      );
    } catch (cause) {
      await connection.close();
      throw new StagedoorError(
        'CLUSTER_UNAVAILABLE',
        `cannot reach Redis at ${redactText(options.url)}: ${(cause as Error).message}`,
        { cause },
      );
    }
    return connection;
  }

  /** True while commands can reach Redis. */
  get ready(): boolean {
    return this.#client.isReady;
  }

  key(name: string): string {
    return `${this.keyPrefix}${name}`;
  }

  /** Runs one command (`['SET', key, …]`); CLUSTER_UNAVAILABLE when Redis is away or too slow. */
  async command<T = unknown>(args: string[]): Promise<T> {
    if (!this.#client.isReady)
      throw new StagedoorError('CLUSTER_UNAVAILABLE', `Redis at ${this.#where} is not connected`);
    try {
      return (await withTimeout(this.#client.sendCommand(args), this.#timeoutMs)) as T;
    } catch (cause) {
      throw new StagedoorError(
        'CLUSTER_UNAVAILABLE',
        `Redis at ${this.#where}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }

  /** Deletes `key` only while it still holds `value` (a lease or claim of ours, not a successor's). */
  async deleteIfHeld(key: string, value: string): Promise<void> {
    await this.command(['EVAL', DELETE_IF_HELD, '1', key, value]);
  }

  /** Publishes a message on a channel of this cluster (best effort: CLUSTER_UNAVAILABLE if away). */
  async publish(channel: string, message: string): Promise<void> {
    await this.command(['PUBLISH', this.key(channel), message]);
  }

  /**
   * Calls `listener` with each message on `channel`, and with `undefined` each time the connection
   * comes back after a loss (messages may have been missed: re-read what matters).
   */
  async subscribe(channel: string, listener: (message: string | undefined) => void): Promise<void> {
    this.#subscriber.on('ready', () => listener(undefined));
    await this.#subscriber.subscribe(this.key(channel), (message: string) => listener(message));
  }

  async close(): Promise<void> {
    for (const c of [this.#subscriber, this.#client])
      if (c.isOpen) await c.close().catch(() => c.destroy());
  }

  #wentDown(error: Error): void {
    if (this.#down) return;
    this.#down = true;
    this.#log.error(
      { event: 'redis_down', redis: this.#where, err: { message: error.message } },
      'lost the connection to Redis: live sessions go on, new publishes and revocations wait for it',
    );
  }

  #cameBack(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#log.info({ event: 'redis_up', redis: this.#where }, 'connected to Redis again');
  }
}

const DELETE_IF_HELD = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
