import { StagedoorError } from '../errors.js';
import { ACTIONS, type Action } from '../config/schema.js';
import type { Grant } from './grant.js';
import { streamMatches, type StreamPath } from '../core/stream-path.js';

/** A scope entry narrowed to what Stagedoor understands: `play`, `publish:live/cam1`, `play:live/*`. */
export interface StreamScope {
  action: Action;
  /** Undefined: every stream. */
  pattern: string | undefined;
}

/** The one scope value that makes a token an admin token. */
export const ADMIN_SCOPE = 'admin';

/** Reads `scope` (space-separated string) or `scp` (array or string); unknown values are ignored. */
export function readScopes(claims: { scope?: unknown; scp?: unknown }): string[] | undefined {
  const raw = claims.scope ?? claims.scp;
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') return raw.split(/\s+/).filter(Boolean);
  if (Array.isArray(raw) && raw.every((s) => typeof s === 'string')) return raw as string[];
  throw new StagedoorError(
    'CLAIM_INVALID',
    'scope must be a string and scp a string or an array of strings',
    { claim: 'scope' },
  );
}

export function parseStreamScopes(scopes: readonly string[]): StreamScope[] {
  const out: StreamScope[] = [];
  for (const scope of scopes) {
    const colon = scope.indexOf(':');
    const action = (colon < 0 ? scope : scope.slice(0, colon)) as Action;
    if (!ACTIONS.includes(action) || action === 'admin') continue;
    out.push({ action, pattern: colon < 0 ? undefined : scope.slice(colon + 1) });
  }
  return out;
}

/**
 * May this grant do `action` on `stream`? The key sets the ceiling; `scope`/`scp` and a
 * stream-naming `sub` (`cam1`: that name in any app, `live/cam1`: exactly; no wildcards) only
 * narrow it. A token without `sub` from a stream-subject key may use every stream its key and scopes
 * allow, unless the key requires `sub`. Admin is never implied: it needs the key's ceiling and the
 * exact scope `admin`. Throws SCOPE_DENIED (action) or STREAM_DENIED (stream).
 */
export function authorize(grant: Grant, action: Action, stream: StreamPath | undefined): void {
  if (action === 'admin') {
    authorizeAdmin(grant);
    return;
  }
  if (!grant.keyActions.has(action))
    throw new StagedoorError('SCOPE_DENIED', `tokens from this key may not ${action}`);
  // A permissions claim (issuers) counts like a scope claim: present means "only what it lists".
  const scoped =
    grant.scoped ||
    grant.scopes.length > 0 ||
    grant.claims.scope !== undefined ||
    grant.claims.scp !== undefined;
  if (scoped) {
    const scopes = parseStreamScopes(grant.scopes).filter((s) => s.action === action);
    if (scopes.length === 0)
      throw new StagedoorError('SCOPE_DENIED', `the token's scope does not include ${action}`);
    if (
      stream &&
      !scopes.some((s) => s.pattern === undefined || streamMatches(s.pattern, stream))
    ) {
      throw new StagedoorError(
        'STREAM_DENIED',
        `the token's ${action} scope does not cover this stream`,
      );
    }
  }
  if (stream && grant.subjectIsStream) {
    if (grant.subject === undefined) {
      if (grant.subjectRequired)
        throw new StagedoorError(
          'STREAM_DENIED',
          'tokens from this key must name their stream in sub',
          { claim: 'sub' },
        );
    } else if (grant.subject !== stream.name && grant.subject !== `${stream.app}/${stream.name}`) {
      throw new StagedoorError('STREAM_DENIED', 'the token is for another stream', {
        claim: 'sub',
      });
    }
  }
}

/** Admin needs a key (or issuer) that allows it, the exact scope `admin`, and a key not limited to streams. */
function authorizeAdmin(grant: Grant): void {
  if (!grant.keyActions.has('admin'))
    throw new StagedoorError('SCOPE_DENIED', 'tokens from this key may not administer');
  if (grant.keyStreams)
    throw new StagedoorError('SCOPE_DENIED', "a stream's own key cannot administer");
  if (!grant.scopes.includes(ADMIN_SCOPE))
    throw new StagedoorError('SCOPE_DENIED', 'admin tokens need the scope "admin"', {
      claim: 'scope',
    });
}
