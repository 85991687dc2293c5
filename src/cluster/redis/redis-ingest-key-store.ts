import {
  readStoredKey,
  type IngestKeyChange,
  type IngestKeyStore,
  type StoredKey,
} from '../../auth/ingest-keys.js';
import type { Logger } from '../../log/logger.js';
import { logEntryProblem, readEntries } from '../../state/stored-entries.js';
import type { RedisSharedHash } from './redis-shared-hash.js';

/**
 * Ingest keys every node shares (hash `ingest-keys`, key hash → sealed token): a key exchanged on one
 * node publishes on any, as soon as the other nodes have re-read the hash on its announcement. An
 * exchange writes its one field (and deletes the lapsed or replaced ones), whatever the hash holds.
 */
export class RedisIngestKeyStore implements IngestKeyStore {
  readonly #hash: RedisSharedHash;
  readonly #log: Logger;

  constructor(hash: RedisSharedHash, log: Logger) {
    this.#hash = hash;
    this.#log = log;
  }

  async load(): Promise<StoredKey[]> {
    const told = (problem: { id: string; reason: string; kept: boolean }) =>
      logEntryProblem(this.#log, { shared: this.#hash.name }, 'ingest keys', problem);
    const entries = await this.#hash.entries((id, reason) => {
      told({ id, reason, kept: false });
      return undefined;
    });
    return readEntries(entries, readStoredKey, told);
  }

  save(change: IngestKeyChange): Promise<void> {
    return this.#hash.change([[change.added.id, change.added]], change.removed);
  }

  onRemoteChange(listener: () => Promise<void>): void {
    this.#hash.onRemoteChange(listener);
  }
}
