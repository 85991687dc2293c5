import {
  isRevocation,
  type Revocation,
  type RevocationChange,
  type RevocationStore,
} from '../../auth/revocations.js';
import type { Logger } from '../../log/logger.js';
import type { RedisSharedHash } from './redis-shared-hash.js';

/**
 * Revocations every node shares (hash `revocations`, id → entry). Lookups never wait on Redis: the
 * list keeps its copy, re-read on every change announced by another node.
 */
export class RedisRevocationStore implements RevocationStore {
  readonly #hash: RedisSharedHash;
  readonly #log: Logger;

  constructor(hash: RedisSharedHash, log: Logger) {
    this.#hash = hash;
    this.#log = log;
  }

  async load(): Promise<Revocation[]> {
    const entries = await this.#hash.entries((id) =>
      this.#log.warn({ id }, 'unreadable revocation in Redis, ignored'),
    );
    return entries.map(([, v]) => v).filter(isRevocation);
  }

  save(change: RevocationChange): Promise<void> {
    return this.#hash.change(
      change.added ? [[change.added.id, change.added]] : [],
      change.removed ?? [],
    );
  }

  onRemoteChange(listener: () => void): void {
    this.#hash.onRemoteChange(listener);
  }
}
