import {
  isStoredKey,
  type IngestKeyChange,
  type IngestKeyStore,
  type StoredKey,
} from '../../auth/ingest-keys.js';
import type { RedisSharedHash } from './redis-shared-hash.js';

/**
 * Ingest keys every node shares (hash `ingest-keys`, key hash → sealed token): a key exchanged on one
 * node publishes on any, as soon as the other nodes have re-read the hash on its announcement.
 */
export class RedisIngestKeyStore implements IngestKeyStore {
  readonly #hash: RedisSharedHash;

  constructor(hash: RedisSharedHash) {
    this.#hash = hash;
  }

  async load(): Promise<StoredKey[]> {
    return (await this.#hash.entries(() => {})).map(([, v]) => v).filter(isStoredKey);
  }

  save(change: IngestKeyChange): Promise<void> {
    return this.#hash.change([[change.added.id, change.added]], change.removed);
  }

  onRemoteChange(listener: () => void): void {
    this.#hash.onRemoteChange(listener);
  }
}
