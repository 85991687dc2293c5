import { StagedoorError } from '../errors.js';
import type { SessionLimit } from '../auth/session-limit.js';

/** A new session asking for one of its subject's slots. */
export interface SlotRequest {
  action: 'publish' | 'play';
  /** Whose slots (the subject), how many at most, and what happens at the limit. */
  limit: SessionLimit;
  /**
   * Who holds the slot: the session (named before it opens), or for an HLS viewer the viewer
   * itself (its pass), so that its sessions on several nodes, one after another, are one slot.
   */
  holder: string;
}

/** One slot, held by one session until it ends. */
export interface SessionSlot {
  /** Gives the slot back (the session ended, or did not open after all); idempotent. */
  release(): void;
  /** Called once if a newer session of the subject takes this slot (`replace-oldest`); at once if it has. */
  onReplaced(listener: () => void): void;
}

/**
 * Concurrent sessions per subject and action: this node's own (in memory), or a cluster's (Redis).
 * Admission takes a slot before a limited session opens and gives it back when it ends.
 */
export interface SessionSlots {
  /**
   * A slot for a new session. At the limit: SESSION_LIMIT (`refuse`), or the subject's oldest
   * sessions are told to end (`replace-oldest`, `onReplaced`) and the slot is given. A cluster's
   * store that cannot be reached refuses CLUSTER_UNAVAILABLE.
   */
  acquire(request: SlotRequest): Promise<SessionSlot>;
}

/** The refusal of a session over its subject's limit. */
export function limitReached(request: SlotRequest): StagedoorError {
  const { max } = request.limit;
  return new StagedoorError(
    'SESSION_LIMIT',
    `this subject already holds ${max} concurrent ${request.action} session${max === 1 ? '' : 's'}, its limit`,
  );
}

/**
 * How long a replaced holder stays refused: an HLS viewer cut `limit-replaced` may come back on its
 * pass (to a node that did not know, or after a restart) for as long as its token lasts; it must
 * present a token again, which is a new viewer.
 */
export const REPLACED_REFUSED_MS = 24 * 3600_000;

/** The refusal of a holder that a newer session of its subject replaced. */
export function replacedRefusal(): StagedoorError {
  return new StagedoorError(
    'SESSION_LIMIT',
    'a newer session of this subject replaced this one; open the playlist again with a token',
  );
}

/** A slot as its holder sees it; `replace` is the store's word that a newer session took it. */
export class HeldSlot implements SessionSlot {
  readonly holder: string;
  readonly #onRelease: () => void;
  readonly #listeners: Array<() => void> = [];
  #done = false;
  #replaced = false;

  constructor(holder: string, onRelease: () => void) {
    this.holder = holder;
    this.#onRelease = onRelease;
  }

  get done(): boolean {
    return this.#done;
  }

  release(): void {
    if (this.#done) return;
    this.#done = true;
    this.#onRelease();
  }

  onReplaced(listener: () => void): void {
    if (this.#replaced) listener();
    else this.#listeners.push(listener);
  }

  /** The store gave this slot to a newer session: its holder ends (the store has let it go already). */
  replace(): void {
    if (this.#done) return;
    this.#done = true;
    this.#replaced = true;
    for (const listener of this.#listeners.splice(0)) listener();
  }
}

/** This node's slots: in memory, in the order their holders started; one holder, one slot. */
export class LocalSessionSlots implements SessionSlots {
  readonly #bySubject = new Map<string, HeldSlot[]>();
  /** Replaced holders, until when they are refused. */
  readonly #replaced = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Slots held now (by distinct holders). */
  get size(): number {
    let size = 0;
    for (const held of this.#bySubject.values()) size += new Set(held.map((s) => s.holder)).size;
    return size;
  }

  acquire(request: SlotRequest): Promise<SessionSlot> {
    const key = `${request.action} ${request.limit.subject}`;
    const now = this.#now();
    this.#prune(now);
    if ((this.#replaced.get(`${key} ${request.holder}`) ?? 0) > now)
      return Promise.reject(replacedRefusal());
    const held = this.#bySubject.get(key) ?? [];
    const holders = [...new Set(held.map((s) => s.holder))];
    if (!holders.includes(request.holder) && holders.length >= request.limit.max) {
      if (request.limit.onLimit !== 'replace-oldest') return Promise.reject(limitReached(request));
      const oldest = new Set(holders.slice(0, holders.length - request.limit.max + 1));
      for (const holder of oldest)
        this.#replaced.set(`${key} ${holder}`, now + REPLACED_REFUSED_MS);
      for (const slot of held.filter((s) => oldest.has(s.holder))) {
        held.splice(held.indexOf(slot), 1);
        slot.replace();
      }
    }
    const slot = new HeldSlot(request.holder, () => {
      const list = this.#bySubject.get(key);
      const at = list?.indexOf(slot) ?? -1;
      if (at >= 0) list!.splice(at, 1);
      if (list?.length === 0) this.#bySubject.delete(key);
    });
    held.push(slot);
    this.#bySubject.set(key, held);
    return Promise.resolve(slot);
  }

  /** Forgets replaced holders whose refusal is over: the oldest first (all are refused as long). */
  #prune(now: number): void {
    for (const [holder, until] of this.#replaced) {
      if (until > now) return;
      this.#replaced.delete(holder);
    }
  }
}
