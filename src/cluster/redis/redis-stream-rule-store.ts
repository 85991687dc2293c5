import type { StreamRuleConfig } from '../../config/schema.js';
import type { StreamRuleChange, StreamRuleStore } from '../../auth/stream-security.js';
import type { RedisSharedHash } from './redis-shared-hash.js';

/**
 * Run-time stream rules every node shares (hash `stream-rules`, pattern → rule with its keys as the
 * operator sent them). Each node installs the keys and re-checks its live sessions on a change.
 */
export class RedisStreamRuleStore implements StreamRuleStore {
  readonly #hash: RedisSharedHash;

  constructor(hash: RedisSharedHash) {
    this.#hash = hash;
  }

  async load(validate: (value: unknown) => StreamRuleConfig[]): Promise<StreamRuleConfig[]> {
    const entries = await this.#hash.entries(() => {});
    // An entry that is not JSON is as unreadable as a bad rule: `validate` refuses the list.
    return validate(entries.map(([, v]) => v));
  }

  save(change: StreamRuleChange): Promise<void> {
    return this.#hash.change(
      change.set ? [[change.set.match, change.set]] : [],
      change.removed !== undefined ? [change.removed] : [],
    );
  }

  onRemoteChange(listener: () => void): void {
    this.#hash.onRemoteChange(listener);
  }
}
