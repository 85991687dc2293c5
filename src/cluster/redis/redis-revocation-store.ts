import {
  readRevocation,
  type Revocation,
  type RevocationChange,
  type RevocationStore,
} from '../../auth/revocations.js';
import type { Logger } from '../../log/logger.js';
import type { RedisSharedHash } from './redis-shared-hash.js';
import { logEntryProblem, readEntries } from '../../state/stored-entries.js';

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

  /** Every entry that reads, one by one (failing closed as the state file does); the others logged. */
  async load(): Promise<Revocation[]> {
    const told = (problem: { id: string; reason: string; kept: boolean }) =>
      logEntryProblem(this.#log, { shared: this.#hash.name }, 'revocations', problem);
    const entries = await this.#hash.entries((id, reason) => {
      told({ id, reason, kept: false });
      return undefined;
    });
    const now = Date.now();
    return readEntries(entries, (value, id) => readRevocation(value, id, now), told);
  }

  save(change: RevocationChange): Promise<void> {
    return this.#hash.change(
      change.added ? [[change.added.id, change.added]] : [],
      change.removed ?? [],
    );
  }

  onRemoteChange(listener: () => Promise<void>): void {
    this.#hash.onRemoteChange(listener);
  }
}
