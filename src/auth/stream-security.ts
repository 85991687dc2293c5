import { StagedoorError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { streamSettingsSchema, type Action, type StreamSettings, type StreamRuleConfig } from '../config/schema.js';
import type { JsonStateFile } from '../state/json-state-file.js';
import { SerialQueue } from '../state/serial-queue.js';
import { importTrustedKey } from './import-key.js';
import type { KeyStore } from './key-store.js';
import { streamMatches, type StreamPath } from './stream-path.js';

export type Security = 'secured' | 'open';

export interface StreamRule extends StreamSettings {
  match: string;
  /** `config` rules come from the file; `runtime` ones were set through the API and persist. */
  source: 'config' | 'runtime';
}

const PATTERN = /^[A-Za-z0-9_*-]{1,128}(\/[A-Za-z0-9_*-]{1,128})?$/;
const DEFAULT: StreamSettings = { publish: 'secured', play: 'secured', keys: [] };

type ChangeListener = (rule: StreamRule | undefined, match: string) => void;

/**
 * Per-stream security ("distribution settings"): for streams matching a pattern, publish and play
 * secured or open, stream-only keys, exp required or not, a maximum token lifetime. Rules set at run
 * time come first, then the config's; the first match wins; unmatched streams are secured. A change
 * is persisted before it is applied, and listeners re-check live sessions at once.
 */
export class StreamSecurity {
  #runtime: StreamRule[] = [];
  readonly #config: StreamRule[];
  readonly #keys: KeyStore;
  readonly #state: JsonStateFile<StreamRuleConfig[]>;
  readonly #listeners = new Set<ChangeListener>();
  readonly #log: Logger;
  readonly #changes = new SerialQueue();

  private constructor(config: readonly StreamRuleConfig[], keys: KeyStore, state: JsonStateFile<StreamRuleConfig[]>, log: Logger) {
    this.#config = config.map((r) => ({ ...r, source: 'config' as const }));
    this.#keys = keys;
    this.#state = state;
    this.#log = log;
  }

  static async create(config: readonly StreamRuleConfig[], keys: KeyStore, state: JsonStateFile<StreamRuleConfig[]>, log: Logger): Promise<StreamSecurity> {
    const security = new StreamSecurity(config, keys, state, log);
    for (const [i, rule] of config.entries()) {
      if (!PATTERN.test(rule.match)) throw new StagedoorError('CONFIG_INVALID', `invalid configuration: "streams[${i}].match": not a stream pattern`);
      await security.#installKeys(rule.match, rule, `streams[${i}]`);
    }
    const saved = await state.load([], (value) => {
      if (!Array.isArray(value)) throw new TypeError('expected an array of stream rules');
      return value.map((v) => {
        const { match, ...settings } = v as { match: unknown };
        if (typeof match !== 'string' || !PATTERN.test(match)) throw new TypeError('a stream rule without a valid match');
        return { ...streamSettingsSchema.parse(settings), match };
      });
    });
    for (const rule of saved) {
      await security.#installKeys(rule.match, rule, `stream security ${rule.match}`);
      security.#runtime.push({ ...rule, source: 'runtime' });
    }
    return security;
  }

  /** The settings that govern a stream. */
  settingsFor(stream: StreamPath): StreamSettings {
    return this.ruleFor(stream) ?? DEFAULT;
  }

  ruleFor(stream: StreamPath): StreamRule | undefined {
    return this.#runtime.find((r) => streamMatches(r.match, stream)) ?? this.#config.find((r) => streamMatches(r.match, stream));
  }

  securityFor(stream: StreamPath, action: Action): Security {
    if (action === 'admin') return 'secured';
    return this.settingsFor(stream)[action];
  }

  list(): StreamRule[] {
    return [...this.#runtime, ...this.#config];
  }

  /** Sets (or replaces) the run-time rule for a pattern; persisted, then applied to live sessions. */
  set(match: string, input: unknown): Promise<StreamRule> {
    return this.#changes.run(() => this.#set(match, input));
  }

  /** Drops the run-time rule for a pattern (config rules stay); true when there was one. */
  remove(match: string): Promise<boolean> {
    return this.#changes.run(() => this.#remove(match));
  }

  async #set(match: string, input: unknown): Promise<StreamRule> {
    if (!PATTERN.test(match)) throw new StagedoorError('PROTOCOL_ERROR', 'a stream pattern is app/name, name, or with * wildcards');
    const parsed = streamSettingsSchema.safeParse(input);
    if (!parsed.success) throw new StagedoorError('PROTOCOL_ERROR', `invalid stream settings: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    const rule: StreamRule = { ...parsed.data, match, source: 'runtime' };
    await this.#installKeys(match, rule, `stream security ${match}`);
    const next = [rule, ...this.#runtime.filter((r) => r.match !== match)];
    await this.#state.save(next.map(({ source: _source, ...r }) => r));
    this.#runtime = next;
    this.#log.info({ event: 'stream_security_set', match, publish: rule.publish, play: rule.play, keys: rule.keys.length }, 'stream security changed');
    this.#emit(rule, match);
    return rule;
  }

  async #remove(match: string): Promise<boolean> {
    const next = this.#runtime.filter((r) => r.match !== match);
    if (next.length === this.#runtime.length) return false;
    await this.#state.save(next.map(({ source: _source, ...r }) => r));
    this.#runtime = next;
    const configRule = this.#config.find((r) => r.match === match);
    this.#keys.setStreamKeys(match, []);
    if (configRule) await this.#installKeys(match, configRule, `streams ${match}`);
    this.#log.info({ event: 'stream_security_removed', match }, 'stream security rule removed');
    this.#emit(undefined, match);
    return true;
  }

  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #installKeys(match: string, settings: StreamSettings, where: string): Promise<void> {
    const keys = await Promise.all(settings.keys.map((k, i) => importTrustedKey(k, `${where}.keys[${i}]`, [match])));
    this.#keys.setStreamKeys(match, keys);
  }

  #emit(rule: StreamRule | undefined, match: string): void {
    for (const listener of this.#listeners) listener(rule, match);
  }
}
