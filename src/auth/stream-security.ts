import { StagedoorError, toStagedoorError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import {
  streamSettingsSchema,
  type Action,
  type StreamSettings,
  type StreamRuleConfig,
} from '../config/schema.js';
import type { JsonStateFile } from '../state/json-state-file.js';
import { SerialQueue } from '../state/serial-queue.js';
import { FileListStore } from '../state/file-list-store.js';
import type { ReadEntry } from '../state/stored-entries.js';
import { importTrustedKey, type TrustedKey } from './import-key.js';
import type { KeyStore } from './key-store.js';
import { streamMatches, type StreamPath } from '../core/stream-path.js';

export type Security = 'secured' | 'open';

export interface StreamRule extends StreamSettings {
  match: string;
  /** `config` rules come from the file; `runtime` ones were set through the API and persist. */
  source: 'config' | 'runtime';
  /**
   * Set when a saved run-time rule could not be loaded at start (a key that no longer imports, a
   * kid now used by the config, an entry that does not read as a rule): the rule then refuses its
   * streams (closed) until an operator fixes it.
   */
  error?: string;
  /** A saved entry that does not read as a rule, as it was stored (kept as it is until replaced). */
  unreadable?: unknown;
}

const PATTERN = /^[A-Za-z0-9_*-]{1,128}(\/[A-Za-z0-9_*-]{1,128})?$/;
/** What governs a stream no rule matches: secured both ways, no keys of its own. */
export const UNRULED: StreamSettings = { publish: 'secured', play: 'secured', keys: [] };
/** Key material the admin API accepts: inline values only, never paths on the server. */
const FILE_FIELDS = ['secretFile', 'publicKeyFile', 'createIfMissing'] as const;

type ChangeListener = (rule: StreamRule | undefined, match: string) => void;

/**
 * How specific a pattern is: exact `app/name` over `name` over wildcards, then the longer literal.
 * The most specific matching rule governs a stream, alone.
 */
function specificity(pattern: string): number {
  const literal = pattern.replace(/[*/]/g, '').length;
  return (pattern.includes('*') ? 0 : 1_000_000) + (pattern.includes('/') ? 10_000 : 0) + literal;
}

/** What changed among the run-time rules: one set (added or replaced), or one removed. */
export interface StreamRuleChange {
  set?: StreamRuleConfig;
  removed?: string;
}

/**
 * A saved entry for a pattern that does not read as a rule an operator could have set (a hand edit,
 * a newer version's field, key material that is not inline): kept, so that the streams it governs
 * are refused (closed) and an operator sees why, and stored back as it was.
 */
export interface UnreadableStreamRule {
  match: string;
  unreadable: string;
  stored: unknown;
}

/** A saved run-time rule as read. */
export type SavedStreamRule = StreamRuleConfig | UnreadableStreamRule;

/**
 * Where run-time stream rules are kept: this node's state file, or a store every node of a cluster
 * shares (which then tells each node of changes made elsewhere). Entries are read one by one
 * (`readStreamRule`): one that does not read never hides the others.
 */
export interface StreamRuleStore {
  load(): Promise<SavedStreamRule[]>;
  /** Keeps a change; `all` is the list after it. */
  save(change: StreamRuleChange, all: readonly SavedStreamRule[]): Promise<void>;
  /**
   * Calls `listener` to re-read when another node changed the rules (and whenever this node may
   * have missed a change); the store tries again while the listener's promise rejects.
   */
  onRemoteChange?(listener: () => Promise<void>): void;
}

/**
 * Run-time stream rules in this node's state file. A file that cannot be read at all stops the
 * start (STATE_UNREADABLE): its rules may secure streams the config opens.
 */
export class FileStreamRuleStore
  extends FileListStore<SavedStreamRule, StreamRuleChange>
  implements StreamRuleStore
{
  constructor(file: JsonStateFile<SavedStreamRule[]>, log: Logger) {
    super(file, {
      what: 'stream rules',
      read: (value) => readStreamRule(value, undefined),
      write: (rule) => ('unreadable' in rule ? rule.stored : rule),
      log,
      unreadable: 'refuse',
    });
  }
}

/**
 * One stored run-time rule, validated as the admin API validates what an operator sends (settings,
 * inline key material only, no admin keys), whatever store it comes from: writing to a store must
 * not grant more than the admin API does. `storedAs` is the pattern a store files it under (a Redis
 * field). Without a pattern it is dropped (it governs nothing); otherwise a rule that does not read
 * is kept unreadable, closed.
 */
export function readStreamRule(
  value: unknown,
  storedAs: string | undefined,
): ReadEntry<SavedStreamRule> {
  const named = (value as { match?: unknown } | null)?.match;
  const match = storedAs ?? named;
  if (typeof match !== 'string' || !PATTERN.test(match))
    return { dropped: 'no stream pattern (match) it could govern' };
  const unreadable = (why: string) => ({ entry: { match, unreadable: why, stored: value } });
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return unreadable('not a JSON object');
  if (named !== match) return unreadable(`stored as ${match} but its match is ${String(named)}`);
  const { match: _match, ...settings } = value as Record<string, unknown>;
  const parsed = streamSettingsSchema.safeParse(settings);
  if (!parsed.success) return unreadable(`invalid stream settings: ${issues(parsed.error)}`);
  const keyProblem = operatorKeyProblem(parsed.data.keys);
  if (keyProblem) return unreadable(keyProblem);
  return { entry: { ...parsed.data, match } };
}

function issues(error: {
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>;
}): string {
  return error.issues
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** Why keys may not be set through the API (or stored as if they had been): files, admin. */
function operatorKeyProblem(keys: StreamSettings['keys']): string | undefined {
  for (const [i, key] of keys.entries()) {
    const field = FILE_FIELDS.find(
      (f) =>
        (key as Record<string, unknown>)[f] !== undefined &&
        (key as Record<string, unknown>)[f] !== false,
    );
    if (field)
      return `keys[${i}].${field}: keys set through the API are inline values (secret, publicKey, jwk), never server files`;
    if (key.actions.includes('admin'))
      return `keys[${i}].actions: a stream's own key cannot grant admin`;
  }
  return undefined;
}

/**
 * Per-stream security ("distribution settings"): for streams matching a pattern, publish and play
 * secured or open, stream-only keys, exp required or not, a maximum token lifetime. The most specific
 * matching rule governs a stream (on a tie, run-time rules before config rules, then in order);
 * unmatched streams are secured. A change is persisted before it is applied, and listeners re-check
 * live sessions at once.
 */
export class StreamSecurity {
  #runtime: StreamRule[] = [];
  readonly #config: StreamRule[];
  readonly #keys: KeyStore;
  readonly #store: StreamRuleStore;
  readonly #listeners = new Set<ChangeListener>();
  readonly #log: Logger;
  readonly #changes = new SerialQueue();

  private constructor(
    config: readonly StreamRuleConfig[],
    keys: KeyStore,
    store: StreamRuleStore,
    log: Logger,
  ) {
    this.#config = config.map((r) => ({ ...r, source: 'config' as const }));
    this.#keys = keys;
    this.#store = store;
    this.#log = log;
  }

  static async create(
    config: readonly StreamRuleConfig[],
    keys: KeyStore,
    store: StreamRuleStore,
    log: Logger,
  ): Promise<StreamSecurity> {
    const security = new StreamSecurity(config, keys, store, log);
    for (const [i, rule] of config.entries()) {
      if (!PATTERN.test(rule.match))
        throw new StagedoorError(
          'CONFIG_INVALID',
          `invalid configuration: "streams[${i}].match": not a stream pattern`,
        );
      keys.setStreamKeys(rule.match, await importStreamKeys(rule, `streams[${i}]`));
    }
    for (const rule of await store.load())
      security.#runtime.push(await security.#installSaved(rule));
    store.onRemoteChange?.(() => security.#changes.run(() => security.#reload()));
    return security;
  }

  /**
   * A saved rule's keys installed. One that no longer loads (or never read as a rule) must not keep
   * the server from starting: it is kept, closed (its streams refused until an operator fixes or
   * removes it).
   */
  async #installSaved(rule: SavedStreamRule): Promise<StreamRule> {
    if ('unreadable' in rule) {
      this.#install(rule.match, []);
      this.#log.error(
        { event: 'stream_rule_disabled', match: rule.match, error: rule.unreadable },
        'a saved stream security rule could not be read; its streams are refused until it is fixed or removed',
      );
      return {
        ...UNRULED,
        match: rule.match,
        source: 'runtime',
        error: rule.unreadable,
        unreadable: rule.stored,
      };
    }
    try {
      this.#install(rule.match, await importStreamKeys(rule, `stream security ${rule.match}`));
      return { ...rule, source: 'runtime' };
    } catch (error) {
      const message = toStagedoorError(error).message;
      this.#log.error(
        { event: 'stream_rule_disabled', match: rule.match, error: message },
        'a saved stream security rule could not be loaded; its streams are refused until it is fixed or removed',
      );
      return { ...rule, source: 'runtime', error: message };
    }
  }

  /**
   * Another node changed the rules (or this one may have missed a change): take them, and re-check
   * live sessions of each changed pattern. Rejects when the store cannot be read (it tries again).
   */
  async #reload(): Promise<void> {
    const saved = await this.#store.load();
    const before = new Map(this.#runtime.map((r) => [r.match, stored(r)]));
    const next: StreamRule[] = [];
    const changed: StreamRule[] = [];
    for (const rule of saved) {
      const same = before.get(rule.match) === JSON.stringify(savedForm(rule));
      const kept = same ? this.#runtime.find((r) => r.match === rule.match) : undefined;
      const current = kept ?? (await this.#installSaved(rule));
      next.push(current);
      if (!same) changed.push(current);
    }
    const gone = [...before.keys()].filter((match) => !saved.some((r) => r.match === match));
    this.#runtime = next;
    for (const match of gone) await this.#restoreConfigKeys(match);
    for (const rule of changed) this.#emit(rule, rule.match);
    for (const match of gone) this.#emit(undefined, match);
    if (changed.length + gone.length > 0)
      this.#log.info(
        { event: 'stream_security_synced', set: changed.map((r) => r.match), removed: gone },
        'stream security changed on another node',
      );
  }

  async #restoreConfigKeys(match: string): Promise<void> {
    const configRule = this.#config.find((r) => r.match === match);
    this.#install(match, configRule ? await importStreamKeys(configRule, `streams ${match}`) : []);
  }

  /** The settings that govern a stream. */
  settingsFor(stream: StreamPath): StreamSettings {
    return this.ruleFor(stream) ?? UNRULED;
  }

  /** The rule that governs a stream: the most specific match (ties: run-time first, then in order). */
  ruleFor(stream: StreamPath): StreamRule | undefined {
    return mostSpecific([this.#runtime, this.#config], stream);
  }

  securityFor(stream: StreamPath, action: Action): Security {
    if (action === 'admin') return 'secured';
    return this.settingsFor(stream)[action];
  }

  list(): StreamRule[] {
    return [...this.#runtime, ...this.#config];
  }

  /**
   * Updates the run-time rule for a pattern with the fields given; omitted fields keep their value
   * (a new rule starts from the settings that governed the pattern, without that rule's keys);
   * `keys: []` removes the keys. Persisted, then applied to live sessions. Bad input is a 400
   * (`REQUEST_INVALID`, `KEY_INVALID`) or a 409 (`KEY_CONFLICT`), and changes nothing.
   */
  set(match: string, input: unknown): Promise<StreamRule> {
    return this.#changes.run(() => this.#set(match, input));
  }

  /** Drops the run-time rule for a pattern (config rules stay); true when there was one. */
  remove(match: string): Promise<boolean> {
    return this.#changes.run(() => this.#remove(match));
  }

  async #set(match: string, input: unknown): Promise<StreamRule> {
    if (!PATTERN.test(match))
      throw new StagedoorError(
        'REQUEST_INVALID',
        'a stream pattern is app/name, name, or with * wildcards',
      );
    if (input === null || typeof input !== 'object' || Array.isArray(input))
      throw new StagedoorError('REQUEST_INVALID', 'stream settings are a JSON object');
    const changes = input as Record<string, unknown>;
    const current = this.#runtime.find((r) => r.match === match);
    const base = current ?? this.#governing(match);
    const merged = {
      publish: base?.publish ?? UNRULED.publish,
      play: base?.play ?? UNRULED.play,
      ...(base?.requireExp !== undefined ? { requireExp: base.requireExp } : {}),
      ...(base?.maxTokenLifetimeSec !== undefined
        ? { maxTokenLifetimeSec: base.maxTokenLifetimeSec }
        : {}),
      keys: current && current.error === undefined ? current.keys : [],
      ...changes,
    };
    const parsed = streamSettingsSchema.safeParse(merged);
    if (!parsed.success)
      throw new StagedoorError(
        'REQUEST_INVALID',
        `invalid stream settings: ${issues(parsed.error)}`,
      );
    const config: StreamRuleConfig = { ...parsed.data, match };
    const rule: StreamRule = { ...config, source: 'runtime' };
    const keys = await this.#importOperatorKeys(match, rule, 'keys' in changes);
    const next = [rule, ...this.#runtime.filter((r) => r.match !== match)];
    await this.#store.save({ set: config }, next.map(storedRule));
    this.#install(match, keys);
    this.#runtime = next;
    this.#log.info(
      {
        event: 'stream_security_set',
        match,
        publish: rule.publish,
        play: rule.play,
        keys: rule.keys.length,
      },
      'stream security changed',
    );
    this.#emit(rule, match);
    return rule;
  }

  /** Keys sent by an operator: inline values only; a bad key is the operator's 400, a kid clash a 409. */
  async #importOperatorKeys(match: string, rule: StreamRule, sent: boolean): Promise<TrustedKey[]> {
    if (sent) {
      const problem = operatorKeyProblem(rule.keys);
      if (problem) throw new StagedoorError('KEY_INVALID', problem);
      const kids = rule.keys.map((k) => k.kid).filter((k): k is string => k !== undefined);
      const repeated = kids.find((kid, i) => kids.indexOf(kid) !== i);
      if (repeated !== undefined)
        throw new StagedoorError('KEY_CONFLICT', `kid "${repeated}" is given twice`);
      for (const kid of kids) {
        const owner = this.#keys.kidOwner(kid, match);
        if (owner !== undefined)
          throw new StagedoorError('KEY_CONFLICT', `kid "${kid}" is already used by ${owner}`);
      }
    }
    try {
      return await importStreamKeys(rule, `stream security ${match}`);
    } catch (error) {
      const coded = toStagedoorError(error);
      if (coded.code !== 'CONFIG_INVALID') throw coded;
      throw new StagedoorError(
        'KEY_INVALID',
        coded.message.replace(/^invalid configuration: /, ''),
        { cause: error },
      );
    }
  }

  /** The rule that would govern the pattern's own stream if it had no run-time rule. */
  #governing(match: string): StreamRule | undefined {
    const [app, name] = match.includes('/') ? match.split('/', 2) : ['*', match];
    if (match.includes('*')) return undefined;
    return mostSpecific([this.#config], { app: app!, name: name! });
  }

  async #remove(match: string): Promise<boolean> {
    const next = this.#runtime.filter((r) => r.match !== match);
    if (next.length === this.#runtime.length) return false;
    await this.#store.save({ removed: match }, next.map(storedRule));
    this.#runtime = next;
    await this.#restoreConfigKeys(match);
    this.#log.info({ event: 'stream_security_removed', match }, 'stream security rule removed');
    this.#emit(undefined, match);
    return true;
  }

  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #install(match: string, keys: readonly TrustedKey[]): void {
    this.#keys.setStreamKeys(match, keys);
  }

  #emit(rule: StreamRule | undefined, match: string): void {
    for (const listener of this.#listeners) listener(rule, match);
  }
}

/** A rule as it is stored: without where it came from or why it is disabled; unreadable as it was. */
function storedRule(rule: StreamRule): SavedStreamRule {
  const { source: _source, error, unreadable, ...config } = rule;
  if (unreadable !== undefined)
    return { match: rule.match, unreadable: error ?? 'unreadable', stored: unreadable };
  return config;
}

/** What a saved rule is in its store (an unreadable one: the value as it was). */
function savedForm(rule: SavedStreamRule): unknown {
  return 'unreadable' in rule ? rule.stored : rule;
}

/** A rule's stored form as text, to tell whether another node changed it. */
function stored(rule: StreamRule): string {
  return JSON.stringify(savedForm(storedRule(rule)));
}

const scores = new Map<string, number>();

/**
 * The most specific of the rules matching a stream; on a tie the one met first. Asked on every
 * request, so patterns' scores are kept (patterns come from the config and operators: few).
 */
function mostSpecific(
  lists: ReadonlyArray<readonly StreamRule[]>,
  stream: StreamPath,
): StreamRule | undefined {
  let best: StreamRule | undefined;
  let bestScore = -1;
  for (const rules of lists) {
    for (const rule of rules) {
      if (!streamMatches(rule.match, stream)) continue;
      let score = scores.get(rule.match);
      if (score === undefined) scores.set(rule.match, (score = specificity(rule.match)));
      if (score > bestScore) {
        best = rule;
        bestScore = score;
      }
    }
  }
  return best;
}

function importStreamKeys(
  settings: StreamSettings & { match: string },
  where: string,
): Promise<TrustedKey[]> {
  return Promise.all(
    settings.keys.map((k, i) => importTrustedKey(k, `${where}.keys[${i}]`, [settings.match])),
  );
}
