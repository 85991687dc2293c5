import type { Action, StreamRuleConfig } from '../config/schema.js';
import { streamMatches, type StreamPath } from './stream-path.js';

export type Security = 'secured' | 'open';

/**
 * Per-stream security from `streams[]`: the first rule whose `match` pattern names the stream
 * decides whether publish and play need a token. Streams no rule matches are secured.
 */
export class StreamRules {
  readonly #rules: readonly StreamRuleConfig[];

  constructor(rules: readonly StreamRuleConfig[]) {
    this.#rules = rules;
  }

  securityFor(stream: StreamPath, action: Action): Security {
    if (action === 'admin') return 'secured';
    const rule = this.#rules.find((r) => streamMatches(r.match, stream));
    return rule ? rule[action] : 'secured';
  }
}
