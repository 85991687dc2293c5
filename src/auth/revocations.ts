import { randomBytes } from 'node:crypto';
import { StagedoorError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Grant } from './grant.js';
import type { JsonStateFile } from '../state/json-state-file.js';
import { SerialQueue } from '../state/serial-queue.js';
import { FileListStore, arrayOf } from '../state/file-list-store.js';

/** What changed in the list: one entry added, or entries removed (by an operator, or lapsed). */
export interface RevocationChange {
  added?: Revocation;
  removed?: readonly string[];
}

/**
 * Where revocations are kept: this node's state file, or a store every node of a cluster shares
 * (which then tells each node of changes made elsewhere).
 */
export interface RevocationStore {
  /** Every entry kept (lapsed ones too: the list prunes them). */
  load(): Promise<Revocation[]>;
  /** Keeps a change; `all` is the list after it. */
  save(change: RevocationChange, all: readonly Revocation[]): Promise<void>;
  /** Calls `listener` when another node changed the entries. */
  onRemoteChange?(listener: () => void): void;
}

/** Revocations in this node's state file. */
export class FileRevocationStore
  extends FileListStore<Revocation, RevocationChange>
  implements RevocationStore
{
  constructor(file: JsonStateFile<Revocation[]>) {
    super(file, arrayOf('revocations', isRevocation));
  }
}

/** A stored entry that reads as a revocation (anything else is dropped on load). */
export function isRevocation(v: unknown): v is Revocation {
  const r = v as Partial<Revocation> | null;
  return (
    typeof r?.id === 'string' &&
    (r.type === 'jti' || r.type === 'sub') &&
    typeof r.value === 'string' &&
    typeof r.until === 'string'
  );
}

export interface Revocation {
  id: string;
  type: 'jti' | 'sub';
  value: string;
  /** ISO time after which the entry is forgotten (its tokens have expired by then). */
  until: string;
  createdAt: string;
  reason?: string | undefined;
}

const DEFAULT_TTL_MS = 24 * 3600_000;
const MAX_TTL_MS = 366 * 24 * 3600_000;

/**
 * The denylist: a `jti` or a `sub` refused until a time. It survives restarts (its store: a state
 * file, or Redis shared by a cluster) and forgets entries once they lapse. Adding one tells
 * listeners, which close matching live sessions at once — on every node, when another node added it.
 * Lookups read this node's copy, so they go on with the last known list while the store is away.
 */
export class RevocationList {
  #entries: Revocation[] = [];
  /** `jti:<value>` / `sub:<value>` → its revocations with their end in ms: a lookup per request, not a scan. */
  #index = new Map<string, Array<{ revocation: Revocation; untilMs: number }>>();
  readonly #store: RevocationStore;
  readonly #listeners = new Set<(revocation: Revocation) => void>();
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #changes = new SerialQueue();

  private constructor(store: RevocationStore, log: Logger, now: () => number) {
    this.#store = store;
    this.#log = log;
    this.#now = now;
  }

  static async create(
    store: RevocationStore,
    log: Logger,
    now: () => number = Date.now,
  ): Promise<RevocationList> {
    const list = new RevocationList(store, log, now);
    list.#setEntries(await store.load());
    await list.prune();
    store.onRemoteChange?.(() => void list.#changes.run(() => list.#reload()));
    return list;
  }

  /** Another node changed the entries: take them, and tell listeners of the ones added. */
  async #reload(): Promise<void> {
    let entries: Revocation[];
    try {
      entries = await this.#store.load();
    } catch (error) {
      this.#log.error({ err: error }, 'revocations changed elsewhere, but cannot be read');
      return;
    }
    const known = new Set(this.#entries.map((r) => r.id));
    this.#setEntries(entries);
    const now = this.#now();
    for (const revocation of entries)
      if (!known.has(revocation.id) && Date.parse(revocation.until) > now)
        for (const listener of this.#listeners) listener(revocation);
  }

  /** The revocation that refuses this grant, if any. */
  match(grant: Pick<Grant, 'jti' | 'subject'>): Revocation | undefined {
    const now = this.#now();
    const live = (key: string) => this.#index.get(key)?.find((e) => e.untilMs > now)?.revocation;
    return (
      (grant.jti !== undefined ? live(`jti:${grant.jti}`) : undefined) ??
      (grant.subject !== undefined ? live(`sub:${grant.subject}`) : undefined)
    );
  }

  #setEntries(entries: Revocation[]): void {
    const index = new Map<string, Array<{ revocation: Revocation; untilMs: number }>>();
    for (const revocation of entries) {
      const key = `${revocation.type}:${revocation.value}`;
      const list = index.get(key) ?? [];
      list.push({ revocation, untilMs: Date.parse(revocation.until) });
      index.set(key, list);
    }
    this.#entries = entries;
    this.#index = index;
  }

  list(): Revocation[] {
    const now = this.#now();
    return this.#entries.filter((r) => Date.parse(r.until) > now);
  }

  add(input: {
    type: unknown;
    value: unknown;
    until?: unknown;
    reason?: unknown;
  }): Promise<Revocation> {
    return this.#changes.run(() => this.#add(input));
  }

  remove(id: string): Promise<boolean> {
    return this.#changes.run(() => this.#remove(id));
  }

  async #add(input: {
    type: unknown;
    value: unknown;
    until?: unknown;
    reason?: unknown;
  }): Promise<Revocation> {
    if (input.type !== 'jti' && input.type !== 'sub')
      throw new StagedoorError('PROTOCOL_ERROR', 'type must be "jti" or "sub"');
    if (typeof input.value !== 'string' || input.value === '' || input.value.length > 256)
      throw new StagedoorError(
        'PROTOCOL_ERROR',
        'value must be a non-empty string of at most 256 characters',
      );
    const now = this.#now();
    let until = now + DEFAULT_TTL_MS;
    if (input.until !== undefined) {
      const parsed = typeof input.until === 'string' ? Date.parse(input.until) : NaN;
      if (!Number.isFinite(parsed) || parsed <= now)
        throw new StagedoorError('PROTOCOL_ERROR', 'until must be an ISO time in the future');
      until = Math.min(parsed, now + MAX_TTL_MS);
    }
    const revocation: Revocation = {
      id: `r_${randomBytes(9).toString('base64url')}`,
      type: input.type,
      value: input.value,
      until: new Date(until).toISOString(),
      createdAt: new Date(now).toISOString(),
      reason: typeof input.reason === 'string' ? input.reason.slice(0, 500) : undefined,
    };
    const next = [...this.#entries.filter((r) => Date.parse(r.until) > now), revocation];
    await this.#store.save({ added: revocation }, next);
    this.#setEntries(next);
    this.#log.info(
      {
        event: 'revocation_added',
        id: revocation.id,
        type: revocation.type,
        value: revocation.value,
        until: revocation.until,
      },
      'token or subject revoked',
    );
    for (const listener of this.#listeners) listener(revocation);
    return revocation;
  }

  async #remove(id: string): Promise<boolean> {
    const next = this.#entries.filter((r) => r.id !== id);
    if (next.length === this.#entries.length) return false;
    await this.#store.save({ removed: [id] }, next);
    this.#setEntries(next);
    this.#log.info({ event: 'revocation_removed', id }, 'revocation removed');
    return true;
  }

  onAdd(listener: (revocation: Revocation) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async prune(): Promise<void> {
    const now = this.#now();
    const next = this.#entries.filter((r) => Date.parse(r.until) > now);
    if (next.length !== this.#entries.length) {
      const lapsed = this.#entries.filter((r) => !next.includes(r)).map((r) => r.id);
      this.#setEntries(next);
      await this.#store.save({ removed: lapsed }, next);
    }
  }
}
