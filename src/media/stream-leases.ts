import { StagedoorError } from '../errors.js';
import { formatStreamPath, type StreamPath } from '../core/stream-path.js';

/** A stream held for one publisher until released. */
export interface StreamLease {
  readonly stream: string;
  /** Gives the stream back; a no-op once released, or once a takeover moved the lease on. */
  release(): void;
  /**
   * Calls `listener` if the lease is lost while held: another node took the stream (a takeover, or
   * this node could not renew it in time). The holder must stop publishing. A node's own leases are
   * never lost this way (the hub hands a local takeover over itself).
   */
  onLost(listener: () => void): void;
}

/**
 * One publisher per stream, wherever it publishes: this node's map here, a shared store (Redis) in
 * a cluster. Acquired by admission before a publisher's session opens, released when it ends.
 */
export interface StreamLeases {
  /** Takes the stream; STREAM_BUSY while another publisher holds it, unless takeover is on. */
  acquire(stream: StreamPath): Promise<StreamLease>;
}

/** The leases of one node. With `takeover`, a new publisher's lease replaces the holder's. */
export class LocalStreamLeases implements StreamLeases {
  readonly #holders = new Map<string, object>();
  readonly #takeover: boolean;

  constructor(options: { takeover: boolean }) {
    this.#takeover = options.takeover;
  }

  get size(): number {
    return this.#holders.size;
  }

  async acquire(stream: StreamPath): Promise<StreamLease> {
    const key = formatStreamPath(stream);
    if (this.#holders.has(key) && !this.#takeover) throw new StagedoorError('STREAM_BUSY');
    const holder = {};
    this.#holders.set(key, holder);
    return {
      stream: key,
      release: () => {
        if (this.#holders.get(key) === holder) this.#holders.delete(key);
      },
      onLost: () => {},
    };
  }
}
