import type { Logger } from '../../log/logger.js';
import type { RedisConnection } from './redis-connection.js';

/** A feed of events that say which node they happened on. */
export interface NodeEventFeed<E extends { node: string }> {
  onEvent(listener: (event: E) => void): () => void;
}

/** At most this many of this node's events a second go to the others (a flood of refused requests is not relayed whole). */
const MAX_RELAYED_PER_SEC = 500;

/**
 * Every node's live events on every node: this node's are published on the channel `events`, the
 * others' heard there. Best effort, like the feed itself: events published while Redis is away
 * are not replayed, and past 500 a second the rest of that second's are dropped (counted in the
 * log) — the session list is the truth; the feed says what changed.
 */
export class RedisEventRelay<E extends { node: string }> implements NodeEventFeed<E> {
  readonly #redis: RedisConnection;
  readonly #local: NodeEventFeed<E>;
  readonly #node: string;
  readonly #log: Logger;
  readonly #listeners = new Set<(event: E) => void>();
  #relaying: (() => void) | undefined;
  #second = 0;
  #sent = 0;
  #dropped = 0;

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
      if (!this.#withinRate()) return;
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

  #withinRate(): boolean {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.#second) {
      if (this.#dropped > 0)
        this.#log.warn(
          { event: 'events_not_relayed', dropped: this.#dropped },
          'too many live events in one second: the rest were not relayed to the other nodes',
        );
      this.#second = second;
      this.#sent = 0;
      this.#dropped = 0;
    }
    if (this.#sent < MAX_RELAYED_PER_SEC) {
      this.#sent++;
      return true;
    }
    this.#dropped++;
    return false;
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
