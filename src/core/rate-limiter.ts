/**
 * At most `limit` events per key in any window of `windowMs` (a fixed window per key, which lets
 * through at most twice the limit across a window edge). Keys are few per window; the map is swept
 * of finished windows as it grows, and capped so that a flood of distinct keys cannot grow it.
 */
export class RateLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(options: { limit: number; windowMs: number; maxKeys?: number; now?: () => number }) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Counts one event for `key`: undefined when it is within the limit, else ms until it would be. */
  take(key: string): number | undefined {
    const now = this.#now();
    let window = this.#windows.get(key);
    if (!window || now - window.start >= this.#windowMs) {
      if (!window && this.#windows.size >= this.#maxKeys) this.#sweep(now);
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
    }
    if (window.count >= this.#limit) return window.start + this.#windowMs - now;
    window.count++;
    return undefined;
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows)
      if (now - window.start >= this.#windowMs) this.#windows.delete(key);
    // Still full of live windows: the oldest go (their keys start afresh, never blocked longer).
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < this.#maxKeys) break;
      this.#windows.delete(key);
    }
  }
}
