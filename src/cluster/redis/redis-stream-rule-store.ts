import {
  readStreamRule,
  type SavedStreamRule,
  type StreamRuleChange,
  type StreamRuleStore,
} from '../../auth/stream-security.js';
import type { Logger } from '../../log/logger.js';
import { logEntryProblem, readEntries } from '../../state/stored-entries.js';
import type { RedisSharedHash } from './redis-shared-hash.js';

/**
 * Run-time stream rules every node shares (hash `stream-rules`, pattern → rule with its keys as the
 * operator sent them). Each node installs the keys and re-checks its live sessions on a change.
 * Entries are read one by one and validated as admin API input: anyone who can write to Redis must
 * not get more than an operator (no server files as keys, no admin keys), and one entry that does not
 * read is disabled closed, never stopping the others or a node's start.
 */
export class RedisStreamRuleStore implements StreamRuleStore {
  readonly #hash: RedisSharedHash;
  readonly #log: Logger;

  constructor(hash: RedisSharedHash, log: Logger) {
    this.#hash = hash;
    this.#log = log;
  }

  async load(): Promise<SavedStreamRule[]> {
    const told = (problem: { id: string; reason: string; kept: boolean }) =>
      logEntryProblem(this.#log, { shared: this.#hash.name }, 'stream rules', problem);
    // Not even JSON: still the pattern's entry, read below as unreadable (closed).
    const entries = await this.#hash.entries((_id, _reason, text) => text);
    return readEntries(entries, (value, id) => readStreamRule(value, id), told);
  }

  save(change: StreamRuleChange): Promise<void> {
    return this.#hash.change(
      change.set ? [[change.set.match, change.set]] : [],
      change.removed !== undefined ? [change.removed] : [],
    );
  }

  onRemoteChange(listener: () => Promise<void>): void {
    this.#hash.onRemoteChange(listener);
  }
}
