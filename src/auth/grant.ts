import type { JWTPayload } from 'jose';
import type { Action } from '../config/schema.js';

/** What a verified token is allowed to be, before it is matched against one request. */
export interface Grant {
  /** `sub`, when present. */
  subject: string | undefined;
  /** Raw scope values (`scope` split on spaces, or `scp`). */
  scopes: readonly string[];
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
  /** Where the key came from (`auth.keys[1]`), for the audit log. */
  keySource: string;
  /** Stream patterns the signing key is limited to (a stream's own keys); undefined: any stream. */
  keyStreams?: readonly string[] | undefined;
  claims: Readonly<JWTPayload>;
}
