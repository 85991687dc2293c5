import type { Logger } from '../../log/logger.js';
import type { RedisConnection } from './redis-connection.js';

/** A feed of events that say which node they happened on. */
export interface NodeEventFeed<E extends { node: string }> {
  onEvent(listener: (event: E) => void): () => void;
}

/**
 * Every node's live events on every node: this node's are published on the channel `events`, the
 * others' heard there. Best effort, like the feed itself: events published while Redis is away
 * are not replayed (the session list is the truth; the feed says what changed).
 */
export class RedisEventRelay<E extends { node: string }> implements NodeEventFeed<E> {
  readonly #redis: RedisConnection;
  readonly #local: NodeEventFeed<E>;
  readonly #node: string;
  readonly #log: Logger;
  readonly #listeners = new Set<(event: E) => void>();
  #relaying: (() => void) | undefined;

  constructor(redis: RedisConnection, local: NodeEventFeed<E>, node: string, log: Logger) {
    this.#redis = redis;
    this.#local = local;
    this.#node = node;
    this.#log = log;
  }

  async start(): Promise<void> {
    await this.#redis.subscribe('events', (message) => {
      let event: E;
      try {
        event = JSON.parse(message) as E;
      } catch {
        return;
      }
      if (event.node !== this.#node) this.#deliver(event);
    });
    this.#relaying = this.#local.onEvent((event) => {
      this.#redis.publish('events', JSON.stringify(event)).catch(() => {});
    });
  }

  stop(): void {
    this.#relaying?.();
  }

  onEvent(listener: (event: E) => void): () => void {
    const local = this.#local.onEvent(listener);
    this.#listeners.add(listener);
    return () => {
      local();
      this.#listeners.delete(listener);
    };
  }

  #deliver(event: E): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#log.error({ err: error }, 'event listener failed');
      }
    }
  }
}
