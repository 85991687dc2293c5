import { createHash } from 'node:crypto';
import { createClient } from '@redis/client';
import { StagedoorError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { redactText, redactUrl } from '../../log/redact.js';

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
  readonly #availability: Array<(up: boolean) => void> = [];
  /** What the server said last (WRONGPASS, NOAUTH …): reported instead of a bare timeout. */
  #lastError: Error | undefined;
  #down = false;
  /** Scripts' SHA-1 by source. */
  readonly #shas = new Map<string, string>();

  private constructor(client: Client, subscriber: Client, options: RedisConnectionOptions) {
    this.#client = client;
    this.#subscriber = subscriber;
    this.keyPrefix = options.keyPrefix;
    this.#timeoutMs = options.commandTimeoutMs;
    this.#log = options.log;
    this.#where = redactUrl(options.url);
    for (const c of [client, subscriber]) {
      c.on('error', (error: Error) => this.#wentDown(error));
      c.on('reconnecting', () => this.#wentDown(new Error('reconnecting')));
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
      // A refused password makes the client retry until the timeout: say what Redis said.
      const said = connection.#lastError ?? (cause as Error);
      await connection.close();
      throw new StagedoorError(
        'CLUSTER_UNAVAILABLE',
        `cannot reach Redis at ${connection.#where}: ${redactText(said.message)}`,
        { cause },
      );
    }
    connection.#down = false;
    return connection;
  }

  /** True while commands can reach Redis and changes announced on its channels reach this node. */
  get ready(): boolean {
    return this.#client.isReady && this.#subscriber.isReady;
  }

  /**
   * Calls `listener(false)` when either connection is lost (changes may be missed from then on),
   * and `listener(true)` once both are back (subscriptions restored): the time to re-read.
   */
  onAvailability(listener: (up: boolean) => void): void {
    this.#availability.push(listener);
  }

  /** Resolves when both connections are ready (at once if they are). */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = (up: boolean) => {
        if (!up) return;
        const i = this.#availability.indexOf(listener);
        if (i >= 0) this.#availability.splice(i, 1);
        resolve();
      };
      this.#availability.push(listener);
    });
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

  /**
   * Runs a Lua script by its SHA-1 (EVALSHA), sending its text only when Redis does not have it
   * (first use, or after a restart): a script run thousands of times a second costs its arguments.
   */
  async script<T = unknown>(source: string, keys: string[], args: string[]): Promise<T> {
    let sha = this.#shas.get(source);
    if (!sha) {
      sha = createHash('sha1').update(source).digest('hex');
      this.#shas.set(source, sha);
    }
    const rest = [String(keys.length), ...keys, ...args];
    try {
      return await this.command<T>(['EVALSHA', sha, ...rest]);
    } catch (error) {
      if (!(error as Error).message.includes('NOSCRIPT')) throw error;
      return this.command<T>(['EVAL', source, ...rest]);
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
   * Calls `listener` with each message on `channel`. Messages published while the subscriber was
   * away are lost: `onAvailability` says when to re-read what matters.
   */
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    await this.#subscriber.subscribe(this.key(channel), (message: string) => listener(message));
  }

  async close(): Promise<void> {
    for (const c of [this.#subscriber, this.#client])
      if (c.isOpen) await c.close().catch(() => c.destroy());
  }

  #wentDown(error: Error): void {
    if (error.message !== 'reconnecting') this.#lastError = error;
    if (this.#down) return;
    this.#down = true;
    this.#log.error(
      { event: 'redis_down', redis: this.#where, err: { message: redactText(error.message) } },
      'lost the connection to Redis: live sessions go on; new admissions, publishes and changes wait for it',
    );
    for (const listener of [...this.#availability]) listener(false);
  }

  #cameBack(): void {
    // Back only when both are: a re-read on the command connection while changes cannot reach the
    // subscriber (or the other way round) could miss one.
    if (!this.#down || !this.ready) return;
    this.#down = false;
    this.#lastError = undefined;
    this.#log.info({ event: 'redis_up', redis: this.#where }, 'connected to Redis again');
    for (const listener of [...this.#availability]) listener(true);
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
