import type { Action } from '../config/schema.js';
import type { ErrorCode } from '../errors.js';
import { toStagedoorError } from '../errors.js';
import type { Grant } from '../auth/grant.js';
import type { StreamPath } from '../core/stream-path.js';
import type { Logger } from '../log/logger.js';
import type { SessionRegistry } from './session-registry.js';
import type { Session } from './session.js';
import type { EndReason } from '../core/end-reasons.js';

/** What the enforcer needs from the authenticator: would this grant be allowed now? (throws if not) */
export interface GrantRules {
  assertAllowed(grant: Grant, action: Action, stream: StreamPath | undefined): void;
}

/** Why a live session is cut when its grant stopped passing: the refusal's code decides the reason. */
const END_REASON_FOR: Partial<Record<ErrorCode, EndReason>> = {
  TOKEN_REVOKED: 'revoked',
  KEY_UNKNOWN: 'key-retired',
};

/**
 * What a change of trust cuts. After a revocation, a stream security change or a key removal (from
 * the config at run time, a stream's keys, or an issuer's key set), every live session is re-checked
 * with the same rules that admitted it, and those no longer allowed are closed at once with the
 * reason that says why (`revoked`, `key-retired`, `security-changed`). One place, whatever the source
 * of the change.
 */
export class Enforcer {
  readonly #registry: Pick<SessionRegistry, 'list'>;
  readonly #rules: GrantRules;
  readonly #log: Logger;

  constructor(registry: Pick<SessionRegistry, 'list'>, rules: GrantRules, log: Logger) {
    this.#registry = registry;
    this.#rules = rules;
    this.#log = log;
  }

  /** Re-checks every live session; returns how many were cut. `trigger` names the change, for the log. */
  review(trigger: Record<string, unknown>): number {
    const cut: Partial<Record<EndReason, number>> = {};
    for (const session of this.#registry.list()) {
      const reason = this.#violation(session);
      if (reason === undefined) continue;
      session.close(reason);
      cut[reason] = (cut[reason] ?? 0) + 1;
    }
    const total = Object.values(cut).reduce((a, b) => a + b, 0);
    if (total > 0)
      this.#log.info(
        { event: 'sessions_enforced', ...trigger, sessionsClosed: total, reasons: cut },
        'live sessions no longer allowed were cut',
      );
    return total;
  }

  #violation(session: Session): EndReason | undefined {
    if (session.closed) return undefined;
    try {
      this.#rules.assertAllowed(
        session.grant,
        session.kind === 'publisher' ? 'publish' : 'play',
        session.stream,
      );
      return undefined;
    } catch (error) {
      return END_REASON_FOR[toStagedoorError(error).code] ?? 'security-changed';
    }
  }
}
