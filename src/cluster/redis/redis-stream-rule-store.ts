import type { StreamRuleConfig } from '../../config/schema.js';
import {
  validateStreamRules,
  type StreamRuleChange,
  type StreamRuleStore,
} from '../../auth/stream-security.js';
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

  async load(): Promise<StreamRuleConfig[]> {
    const entries = await this.#hash.entries(() => {});
    return validateStreamRules(entries.map(([, v]) => v));
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
