import type { Logger } from '../log/logger.js';
import type { StagedoorError } from '../errors.js';
import type { Protocol } from '../core/protocol.js';
import { formatStreamPath, type StreamPath } from '../core/stream-path.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import type { SessionSnapshot } from '../sessions/session.js';
import type { Metrics } from './metrics.js';

/** What the live event feed carries (admin `/api/v1/events`); `node` says where it happened. */
export type AuditEvent = { node: string } & (
  | { type: 'session_start'; at: string; session: SessionSnapshot }
  | { type: 'session_refreshed'; at: string; session: SessionSnapshot }
  | { type: 'session_end'; at: string; session: SessionSnapshot; reason: string }
  | {
      type: 'refusal';
      at: string;
      protocol: Protocol;
      action: string;
      stream: string;
      address: string;
      code: string;
      reason: string;
    }
  | { type: 'kick'; at: string; sessionId: string; actor: string }
);

/** Where the live feed's events come from: this node's audit, or every node's in a cluster. */
export interface EventFeed {
  onEvent(listener: (event: AuditEvent) => void): () => void;
}

/** An event before it is stamped with this node's name. */
type Unstamped = AuditEvent extends infer E
  ? E extends AuditEvent
    ? Omit<E, 'node'>
    : never
  : never;

export interface RefusalRecord {
  protocol: Protocol;
  action: 'publish' | 'play' | 'admin';
  stream: StreamPath | undefined;
  address: string;
  error: StagedoorError;
  extra?: Record<string, unknown>;
}

/**
 * The audit trail: refusals are recorded here (log line, metric, live event) by every protocol;
 * session starts, token refreshes and ends come from the registry. Tokens never appear; codes always do.
 */
export class Audit implements EventFeed {
  readonly #node: string;
  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #listeners = new Set<(event: AuditEvent) => void>();

  constructor(log: Logger, registry: SessionRegistry, metrics?: Metrics) {
    this.#log = log;
    this.#metrics = metrics;
    this.#node = registry.node;
    registry.onChange((event, session, reason) => {
      const at = new Date().toISOString();
      if (event === 'start') this.#emit({ type: 'session_start', at, session: session.snapshot() });
      else if (event === 'refresh')
        this.#emit({ type: 'session_refreshed', at, session: session.snapshot() });
      else
        this.#emit({
          type: 'session_end',
          at,
          session: session.snapshot(),
          reason: reason ?? 'unknown',
        });
    });
  }

  refusal({ protocol, action, stream, address, error, extra }: RefusalRecord): void {
    const streamKey = stream ? formatStreamPath(stream) : '';
    this.#log.warn(
      {
        event: 'access_refused',
        protocol,
        action,
        stream: streamKey || undefined,
        address,
        code: error.code,
        claim: error.claim,
        reason: error.message,
        ...extra,
      },
      'access refused',
    );
    this.#metrics?.refusals.inc({ protocol, action, code: error.code });
    this.#emit({
      type: 'refusal',
      at: new Date().toISOString(),
      protocol,
      action,
      stream: streamKey,
      address,
      code: error.code,
      reason: error.message,
    });
  }

  kick(sessionId: string, actor: string, target: SessionSnapshot): void {
    this.#log.info(
      {
        event: 'session_kicked',
        sessionId,
        actor,
        subject: target.subject,
        stream: target.stream,
        protocol: target.protocol,
        kind: target.kind,
        address: target.address,
      },
      'session kicked by an operator',
    );
    this.#emit({ type: 'kick', at: new Date().toISOString(), sessionId, actor });
  }

  onEvent(listener: (event: AuditEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(unstamped: Unstamped): void {
    const event = { node: this.#node, ...unstamped } as AuditEvent;
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#log.error({ err: error }, 'audit listener failed');
      }
    }
  }
}
