import { StagedoorError } from '../errors.js';
import type { SessionLimitsConfig, StreamSettings } from '../config/schema.js';
import type { Grant } from './grant.js';

/** The claim with which a token lowers its own limit (an integer ≥ 1, for the session's action). */
export const MAX_SESSIONS_CLAIM = 'max_sessions';

export type OnLimit = SessionLimitsConfig['onLimit'];

/** The concurrent-session limit a new session opens under: its subject's slots, at most `max`. */
export interface SessionLimit {
  /** Whose sessions are counted: `sub:<sub>` (with `iss:<iss> ` first when the token names one), or `token:<jti or hash>`. */
  subject: string;
  max: number;
  onLimit: OnLimit;
}

/** The token's `max_sessions`, if any; CLAIM_INVALID unless it is an integer of at least 1. */
export function readMaxSessionsClaim(
  claims: Readonly<Record<string, unknown>>,
): number | undefined {
  const value = claims[MAX_SESSIONS_CLAIM];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new StagedoorError(
      'CLAIM_INVALID',
      `${MAX_SESSIONS_CLAIM} must be an integer of at least 1`,
      {
        claim: MAX_SESSIONS_CLAIM,
      },
    );
  return value;
}

/**
 * The limit on a new `action` session of this grant on a stream governed by `rule`: the rule's own
 * for that action if it sets one, else the signing key's or issuer's; a `max_sessions` claim lowers
 * it (or sets one where none is configured), never raises it. Undefined: no limit (and for the
 * token-less client of an open stream, which has no subject to count).
 *
 * Whose sessions are counted: the token's principal, `sub` (per issuer). Where `sub` names the
 * stream instead (keys with `subject: stream`, the default), the token itself (its `jti`, else its
 * hash): one ticket, one token. A limited principal token without `sub` is refused (CLAIM_INVALID,
 * claim `sub`): its sessions could not be counted.
 */
export function resolveSessionLimit(
  grant: Grant,
  action: 'publish' | 'play',
  rule: Pick<StreamSettings, 'maxSessionsPerSubject'> | undefined,
  anonymous: boolean,
): SessionLimit | undefined {
  if (anonymous) return undefined;
  const configured = [rule?.maxSessionsPerSubject, grant.keySessionLimits].find(
    (limits) => limits?.[action] !== undefined,
  );
  const claimed = readMaxSessionsClaim(grant.claims as Record<string, unknown>);
  const max = Math.min(configured?.[action] ?? Infinity, claimed ?? Infinity);
  if (max === Infinity) return undefined;
  const onLimit = configured?.onLimit ?? 'refuse';
  if (grant.subjectIsStream) return { subject: `token:${grant.tokenId}`, max, onLimit };
  if (grant.subject === undefined || grant.subject === '')
    throw new StagedoorError(
      'CLAIM_INVALID',
      `a limit of ${max} concurrent ${action} sessions per subject applies: the token must name its subject in sub`,
      { claim: 'sub' },
    );
  const issuer = grant.issuer === undefined ? '' : `iss:${grant.issuer} `;
  return { subject: `${issuer}sub:${grant.subject}`, max, onLimit };
}
