import type { Grant } from './grant.js';

/** How long a verified token without exp may stay cached (only when exp is not required). */
const NO_EXP_TTL_MS = 60_000;

/**
 * Verified tokens, kept until they expire so that a viewer's hundredth segment request costs a map
 * lookup, not a signature check. Bounded: the least recently used entry goes first.
 */
export class TokenCache {
  readonly #entries = new Map<string, { grant: Grant; until: number }>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(token: string, now = Date.now()): Grant | undefined {
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    this.#entries.delete(token);
    if (entry.until <= now) return undefined;
    this.#entries.set(token, entry); // most recently used goes last
    return entry.grant;
  }

  set(token: string, grant: Grant, now = Date.now()): void {
    if (this.#maxEntries === 0) return;
    const until = grant.expiresAt ?? now + NO_EXP_TTL_MS;
    if (until <= now) return;
    this.#entries.delete(token);
    this.#entries.set(token, { grant, until });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
