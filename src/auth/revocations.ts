import { randomBytes } from 'node:crypto';
import { StagedoorError } from '../errors.js';
import { parseDuration } from '../core/duration.js';
import type { Logger } from '../log/logger.js';
import type { Grant } from './grant.js';
import type { JsonStateFile } from '../state/json-state-file.js';
import { SerialQueue } from '../state/serial-queue.js';
import { FileListStore } from '../state/file-list-store.js';
import type { ReadEntry } from '../state/stored-entries.js';

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
  /**
   * Calls `listener` to re-read when another node changed the entries (and whenever this node may
   * have missed a change); the store tries again while the listener's promise rejects.
   */
  onRemoteChange?(listener: () => Promise<void>): void;
}

/**
 * Revocations in this node's state file. A file that cannot be read at all stops the start
 * (STATE_UNREADABLE) rather than admit every token it revokes.
 */
export class FileRevocationStore
  extends FileListStore<Revocation, RevocationChange>
  implements RevocationStore
{
  constructor(file: JsonStateFile<Revocation[]>, log: Logger) {
    super(file, {
      what: 'revocations',
      read: (value, index) => readRevocation(value, `r_unnamed_${index}`, Date.now()),
      log,
      unreadable: 'refuse',
    });
  }
}

/**
 * A stored entry as a revocation, failing closed: an entry that still names what it revokes (`type`
 * and `value`) is kept even when its end is unreadable (an epoch number is taken as one; anything
 * else lasts the longest a revocation may, until an operator removes it). Only an entry that names
 * nothing it could refuse is dropped. `id` names an entry stored without one.
 */
export function readRevocation(v: unknown, id: string, now: number): ReadEntry<Revocation> {
  const r = v as Partial<Record<keyof Revocation, unknown>> | null;
  if (typeof r !== 'object' || r === null) return { dropped: 'not an object' };
  if (r.type !== 'jti' && r.type !== 'sub') return { dropped: 'type is not "jti" or "sub"' };
  if (typeof r.value !== 'string' || r.value === '') return { dropped: 'value is not a string' };
  const until = readUntil(r.until);
  const entry: Revocation = {
    id: typeof r.id === 'string' && r.id !== '' ? r.id : id,
    type: r.type,
    value: r.value,
    until: new Date(until ?? now + MAX_TTL_MS).toISOString(),
    createdAt: typeof r.createdAt === 'string' ? r.createdAt : new Date(now).toISOString(),
    reason: typeof r.reason === 'string' ? r.reason : undefined,
  };
  if (typeof r.until === 'string' && until !== undefined) return { entry };
  return {
    entry,
    mended:
      until === undefined
        ? `until ${JSON.stringify(r.until)} is not a time: kept until ${entry.until}, the longest a revocation lasts`
        : `until ${JSON.stringify(r.until)} is a number: read as ${entry.until}`,
  };
}

/** A stored end in ms: an ISO time, or an epoch number (seconds, as a JWT's exp, or ms). */
function readUntil(until: unknown): number | undefined {
  const ms =
    typeof until === 'string'
      ? Date.parse(until)
      : typeof until === 'number'
        ? until < 1e11
          ? until * 1000
          : until
        : NaN;
  return Number.isFinite(ms) ? ms : undefined;
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

/** What an operator sends to revoke: checked here, whoever calls (the admin API validates it first). */
export interface RevocationInput {
  type: unknown;
  value: unknown;
  /** An ISO time; one later than the longest a revocation lasts is brought back to it. */
  until?: unknown;
  /** A duration from now (`30s`, `15m`, `24h`, `7d`), at most the longest a revocation lasts. */
  for?: unknown;
  reason?: unknown;
}

const DEFAULT_TTL_MS = 24 * 3600_000;
const MAX_TTL_DAYS = 366;
const MAX_TTL_MS = MAX_TTL_DAYS * 24 * 3600_000;

/** When a new revocation ends, in ms: from `until` or `for` (not both), else a day from now. */
function endOf(input: RevocationInput, now: number): number {
  if (input.until !== undefined && input.for !== undefined)
    throw new StagedoorError(
      'REQUEST_INVALID',
      'for, until: give one of them (for: a duration such as 24h; until: an ISO time)',
    );
  if (input.for !== undefined) {
    let seconds: number;
    try {
      if (typeof input.for !== 'string') throw new TypeError('not a string');
      seconds = parseDuration(input.for);
    } catch (cause) {
      throw new StagedoorError(
        'REQUEST_INVALID',
        `for: ${JSON.stringify(input.for)} is not a positive duration: use a whole number and s, m, h or d (30s, 15m, 24h, 7d)`,
        { cause },
      );
    }
    if (seconds * 1000 > MAX_TTL_MS)
      throw new StagedoorError(
        'REQUEST_INVALID',
        `for: at most ${MAX_TTL_DAYS}d, the longest a revocation lasts`,
      );
    return now + seconds * 1000;
  }
  if (input.until === undefined) return now + DEFAULT_TTL_MS;
  const until = typeof input.until === 'string' ? Date.parse(input.until) : NaN;
  if (!Number.isFinite(until) || until <= now)
    throw new StagedoorError(
      'REQUEST_INVALID',
      'until: must be an ISO time in the future, such as 2026-12-01T00:00:00Z',
    );
  return Math.min(until, now + MAX_TTL_MS);
}

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
    store.onRemoteChange?.(() => list.#changes.run(() => list.#reload()));
    return list;
  }

  /**
   * Another node changed the entries (or this one may have missed a change): take them, and tell
   * listeners of the ones added. Rejects when the store cannot be read (the store tries again).
   */
  async #reload(): Promise<void> {
    const entries = await this.#store.load();
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

  /**
   * Revokes a `jti` or a `sub` until a time (`until`, an ISO time) or for a while (`for`: `30s`,
   * `15m`, `24h`, `7d`), a day when neither is given; bad input is REQUEST_INVALID naming the field.
   */
  add(input: RevocationInput): Promise<Revocation> {
    return this.#changes.run(() => this.#add(input));
  }

  remove(id: string): Promise<boolean> {
    return this.#changes.run(() => this.#remove(id));
  }

  async #add(input: RevocationInput): Promise<Revocation> {
    if (input.type !== 'jti' && input.type !== 'sub')
      throw new StagedoorError('REQUEST_INVALID', 'type: must be "jti" or "sub"');
    if (typeof input.value !== 'string' || input.value === '' || input.value.length > 256)
      throw new StagedoorError(
        'REQUEST_INVALID',
        'value: must be a non-empty string of at most 256 characters',
      );
    const now = this.#now();
    const until = endOf(input, now);
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
