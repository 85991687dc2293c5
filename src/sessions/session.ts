import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import type { Grant } from '../auth/grant.js';
import type { Protocol } from '../core/protocol.js';
import type { EndReason } from '../core/end-reasons.js';
import { formatStreamPath, type StreamPath } from '../core/stream-path.js';

export type SessionKind = 'publisher' | 'viewer';

export interface SessionInit {
  kind: SessionKind;
  protocol: Protocol;
  stream: StreamPath;
  grant: Grant;
  address: string;
  /**
   * Called once when the session ends for any reason: the connection owner tears its connection
   * down (an RTMP socket is destroyed, not half-closed).
   */
  terminate: (reason: EndReason) => void;
}

export interface SessionSnapshot {
  id: string;
  /** The node that holds the session (its connection, its expiry timer). */
  node: string;
  kind: SessionKind;
  protocol: Protocol;
  stream: string;
  subject: string | undefined;
  scopes: readonly string[];
  jti: string | undefined;
  kid: string | undefined;
  issuer: string | undefined;
  address: string;
  startedAt: string;
  expiresAt: string | undefined;
  bytesIn: number;
  bytesOut: number;
}

/** Marks the node in a cluster's session ids: `s_<random>@<node>`. */
const NODE_MARK = '@';

/** A new session id; in a cluster it says which node owns the session, so a kick can be routed. */
export function newSessionId(node?: string): string {
  const id = `s_${randomBytes(9).toString('base64url')}`;
  return node === undefined ? id : `${id}${NODE_MARK}${node}`;
}

/** The node a session id names; undefined for an id of a node outside a cluster. */
export function nodeOfSessionId(id: string): string | undefined {
  const at = id.indexOf(NODE_MARK);
  return at < 0 ? undefined : id.slice(at + 1);
}

/** One publisher or one viewer. Only the registry creates sessions; `close` is idempotent. */
export class Session {
  readonly id: string;
  readonly node: string;
  readonly kind: SessionKind;
  readonly protocol: Protocol;
  readonly stream: StreamPath;
  readonly address: string;
  readonly startedAt: number;
  readonly log: Logger;
  grant: Grant;
  bytesIn = 0;
  bytesOut = 0;
  endReason: EndReason | undefined;
  readonly #terminate: (reason: EndReason) => void;
  readonly #onClosed: (session: Session, reason: EndReason) => void;

  constructor(
    init: SessionInit,
    log: Logger,
    startedAt: number,
    onClosed: (session: Session, reason: EndReason) => void,
    where: { id: string; node: string },
  ) {
    this.id = where.id;
    this.node = where.node;
    this.kind = init.kind;
    this.protocol = init.protocol;
    this.stream = init.stream;
    this.grant = init.grant;
    this.address = init.address;
    this.startedAt = startedAt;
    this.#terminate = init.terminate;
    this.#onClosed = onClosed;
    this.log = log.child({
      sessionId: this.id,
      kind: this.kind,
      protocol: this.protocol,
      stream: formatStreamPath(this.stream),
    });
  }

  get closed(): boolean {
    return this.endReason !== undefined;
  }

  get expiresAt(): number | undefined {
    return this.grant.expiresAt;
  }

  /** Ends the session: tears the connection down and removes it from the registry. */
  close(reason: EndReason): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    try {
      this.#terminate(reason);
    } finally {
      this.#onClosed(this, reason);
    }
  }

  snapshot(): SessionSnapshot {
    return {
      id: this.id,
      node: this.node,
      kind: this.kind,
      protocol: this.protocol,
      stream: formatStreamPath(this.stream),
      subject: this.grant.subject,
      scopes: this.grant.scopes,
      jti: this.grant.jti,
      kid: this.grant.kid,
      issuer: this.grant.issuer,
      address: this.address,
      startedAt: new Date(this.startedAt).toISOString(),
      expiresAt:
        this.grant.expiresAt === undefined
          ? undefined
          : new Date(this.grant.expiresAt).toISOString(),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }
}
