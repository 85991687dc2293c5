import type { Logger } from '../log/logger.js';
import { armExpiryTimer, type ExpiryTimer } from './expiry-timer.js';
import { newSessionId, Session, type SessionInit } from './session.js';
import type { EndReason } from '../core/end-reasons.js';

export type SessionListener = (
  event: 'start' | 'refresh' | 'end',
  session: Session,
  reason?: EndReason,
) => void;

/**
 * Owns every live session and its one expiry timer. A session leaves only through
 * `session.close(reason)`, which tears the connection down and lands back here.
 */
export class SessionRegistry {
  #shuttingDown = false;
  readonly #sessions = new Map<string, Session>();
  readonly #timers = new Map<string, ExpiryTimer>();
  readonly #listeners = new Set<SessionListener>();
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #node: { name: string; inIds: boolean };

  /**
   * `cluster`: this node's name goes into every session id (`s_…@<node>`) so that any node can route
   * a kick to it; on one node ids stay short and name it only in snapshots.
   */
  constructor(
    log: Logger,
    now: () => number = Date.now,
    node: { name: string; inIds: boolean } = { name: 'local', inIds: false },
  ) {
    this.#log = log;
    this.#now = now;
    this.#node = node;
  }

  /** The node these sessions live on. */
  get node(): string {
    return this.#node.name;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** A new session id for this node, for an admission that must name its session before opening it. */
  newId(): string {
    return newSessionId(this.#node.inIds ? this.#node.name : undefined);
  }

  /**
   * Registers a session (under `id`, one from `newId`, or a new one) and arms its expiry timer; an
   * already-expired grant closes it at once.
   */
  open(init: SessionInit, id: string = this.newId()): Session {
    const node = this.#node.name;
    const session = new Session(init, this.#log, this.#now(), (s, r) => this.#onClosed(s, r), {
      id,
      node,
    });
    this.#sessions.set(session.id, session);
    session.log.info(
      {
        event: 'session_start',
        subject: session.grant.subject,
        scopes: session.grant.scopes,
        jti: session.grant.jti,
        tokenId: session.grant.tokenId,
        kid: session.grant.kid,
        issuer: session.grant.issuer,
        address: session.address,
        expiresAt:
          session.expiresAt === undefined ? undefined : new Date(session.expiresAt).toISOString(),
      },
      'session started',
    );
    this.#emit('start', session);
    if (this.#shuttingDown) session.close('shutdown');
    else this.#arm(session);
    return session;
  }

  /** Replaces a live session's grant (token refresh) and re-arms its timer at the new expiry. */
  renew(session: Session, grant: Session['grant']): void {
    if (session.closed) return;
    session.grant = grant;
    this.#timers.get(session.id)?.cancel();
    this.#arm(session);
    session.log.info(
      {
        event: 'session_refreshed',
        subject: grant.subject,
        jti: grant.jti,
        tokenId: grant.tokenId,
        kid: grant.kid,
        issuer: grant.issuer,
        expiresAt:
          session.expiresAt === undefined ? undefined : new Date(session.expiresAt).toISOString(),
      },
      'token refreshed',
    );
    this.#emit('refresh', session);
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  list(): Session[] {
    return [...this.#sessions.values()];
  }

  /** Closes every session for which `match` holds; returns how many. */
  closeWhere(match: (session: Session) => boolean, reason: EndReason): number {
    let count = 0;
    for (const session of this.list()) {
      if (match(session)) {
        session.close(reason);
        count++;
      }
    }
    return count;
  }

  /**
   * Ends every session. With `shutdown`, a session an admission in flight opens afterwards ends at
   * once too (logged as started and ended), so the process never exits with one logged as open.
   */
  closeAll(reason: EndReason): number {
    if (reason === 'shutdown') this.#shuttingDown = true;
    return this.closeWhere(() => true, reason);
  }

  onChange(listener: SessionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #arm(session: Session): void {
    const at = session.expiresAt;
    if (at === undefined) return;
    const timer = armExpiryTimer(
      at,
      () => {
        session.log.info(
          { event: 'session_expired', lagMs: this.#now() - at },
          'token expired, cutting session',
        );
        session.close('expired');
      },
      this.#now,
    );
    if (!session.closed) this.#timers.set(session.id, timer);
  }

  #onClosed(session: Session, reason: EndReason): void {
    this.#timers.get(session.id)?.cancel();
    this.#timers.delete(session.id);
    this.#sessions.delete(session.id);
    session.log.info(
      {
        event: 'session_end',
        reason,
        subject: session.grant.subject,
        jti: session.grant.jti,
        tokenId: session.grant.tokenId,
        address: session.address,
        durationMs: this.#now() - session.startedAt,
        bytesIn: session.bytesIn,
        bytesOut: session.bytesOut,
      },
      'session ended',
    );
    this.#emit('end', session, reason);
  }

  #emit(event: 'start' | 'refresh' | 'end', session: Session, reason?: EndReason): void {
    for (const listener of this.#listeners) {
      try {
        listener(event, session, reason);
      } catch (error) {
        this.#log.error({ err: error }, 'session listener failed');
      }
    }
  }
}
