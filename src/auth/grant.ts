import type { JWTPayload } from 'jose';
import type { Action, SessionLimitsConfig } from '../config/schema.js';

/**
 * Which trusted key verified a token: a static or stream key (by its identity in the key store),
 * or an issuer's key (by kid). A grant is trusted only while that key still is.
 */
export type KeyRef =
  { kind: 'static'; key: object } | { kind: 'issuer'; issuer: string; kid: string | undefined };

/** What a verified token is allowed to be, before it is matched against one request. */
export interface Grant {
  /** `sub`, when present. */
  subject: string | undefined;
  /** Raw scope values (`scope` split on spaces, or `scp`). */
  scopes: readonly string[];
  /**
   * Whether `scopes` is the whole of what the token may do even when it is empty (issuers: a token
   * without scope grants only the issuer's default scopes). Otherwise a token with no scope claim
   * may do what its key allows.
   */
  scoped: boolean;
  /** `jti`, else a short hash of the token: what revocation and audit lines key on. */
  tokenId: string;
  jti: string | undefined;
  kid: string | undefined;
  issuer: string | undefined;
  /** Instant (ms since epoch) the token stops being valid, tolerance included; undefined if no exp. */
  expiresAt: number | undefined;
  /** The most the signing key lets any of its tokens do. */
  keyActions: ReadonlySet<Action>;
  /** Whether `sub` names the stream the token is for. */
  subjectIsStream: boolean;
  /** Whether a stream-naming `sub` is mandatory (the key's `requireSub`); otherwise no `sub` means every stream. */
  subjectRequired: boolean;
  /** Where the key came from (`auth.keys[1]`), for the audit log. */
  keySource: string;
  /** The key that verified the token; undefined for the anonymous grant of an open stream. */
  signer: KeyRef | undefined;
  /** Stream patterns the signing key is limited to (a stream's own keys); undefined: any stream. */
  keyStreams?: readonly string[] | undefined;
  /** The signing key's or issuer's `maxSessionsPerSubject` (a stream rule's comes first). */
  keySessionLimits?: SessionLimitsConfig | undefined;
  claims: Readonly<JWTPayload>;
}
