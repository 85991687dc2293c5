/** One cached answer: in flight (shared by every asker) or done, until `until`. */
interface Entry<T> {
  value: Promise<T>;
  size: number;
  until: number;
}

/**
 * A small in-memory cache in front of another node: concurrent askers of one key share one fetch
 * (request coalescing), and its answer is kept for the key's time to live, bounded in bytes
 * (oldest out first). A failed fetch is forgotten at once, so the next asker tries again.
 */
export class CoalescingCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #maxBytes: number;
  readonly #now: () => number;
  #bytes = 0;
  /** Fetches made (cache misses), for tests and figures. */
  fetches = 0;

  constructor(maxBytes: number, now: () => number = Date.now) {
    this.#maxBytes = maxBytes;
    this.#now = now;
  }

  /** The value for `key`: cached, in flight, or fetched now and kept for `ttlMs` once it arrives. */
  get(
    key: string,
    ttlMs: number,
    fetch: () => Promise<T>,
    sizeOf: (value: T) => number,
  ): Promise<T> {
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit && hit.until > now) return hit.value;
    if (hit) this.#drop(key, hit);
    this.fetches++;
    const entry: Entry<T> = { value: fetch(), size: 0, until: Infinity };
    this.#entries.set(key, entry);
    entry.value.then(
      (value) => {
        if (this.#entries.get(key) !== entry) return;
        entry.size = sizeOf(value);
        entry.until = this.#now() + ttlMs;
        this.#bytes += entry.size;
        this.#evict();
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    return entry.value;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #drop(key: string, entry: Entry<T>): void {
    this.#entries.delete(key);
    this.#bytes -= entry.size;
  }

  #evict(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes && entry.until > now) break;
      if (entry.until === Infinity) continue; // in flight: not counted yet
      this.#drop(key, entry);
    }
  }
}
