import { StagedoorError } from '../errors.js';
import { ACTIONS, type Action } from '../config/schema.js';
import type { Grant } from './grant.js';
import { streamMatches, type StreamPath } from './stream-path.js';

/** A scope entry narrowed to what Stagedoor understands: `play`, `publish:live/cam1`, `play:live/*`. */
export interface StreamScope {
  action: Action;
  /** Undefined: every stream. */
  pattern: string | undefined;
}

/** Reads `scope` (space-separated string) or `scp` (array or string); unknown values are ignored. */
export function readScopes(claims: { scope?: unknown; scp?: unknown }): string[] | undefined {
  const raw = claims.scope ?? claims.scp;
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') return raw.split(/\s+/).filter(Boolean);
  if (Array.isArray(raw) && raw.every((s) => typeof s === 'string')) return raw as string[];
  throw new StagedoorError('CLAIM_INVALID', 'scope must be a string and scp a string or an array of strings', { claim: 'scope' });
}

export function parseStreamScopes(scopes: readonly string[]): StreamScope[] {
  const out: StreamScope[] = [];
  for (const scope of scopes) {
    const colon = scope.indexOf(':');
    const action = (colon < 0 ? scope : scope.slice(0, colon)) as Action;
    if (!ACTIONS.includes(action)) continue;
    out.push({ action, pattern: colon < 0 ? undefined : scope.slice(colon + 1) });
  }
  return out;
}

/**
 * May this grant do `action` on `stream`? The key sets the ceiling; `scope`/`scp` and a
 * stream-naming `sub` (`cam1`: that name in any app, `live/cam1`: exactly; no wildcards) only narrow it. Throws SCOPE_DENIED (action) or STREAM_DENIED (stream).
 */
export function authorize(grant: Grant, action: Action, stream: StreamPath | undefined): void {
  if (!grant.keyActions.has(action)) throw new StagedoorError('SCOPE_DENIED', `tokens from this key may not ${action}`);
  if (grant.keyStreams && (!stream || !grant.keyStreams.some((p) => streamMatches(p, stream)))) {
    throw new StagedoorError('STREAM_DENIED', 'the signing key belongs to another stream');
  }
  // A permissions claim (issuers) counts like a scope claim: present means "only what it lists".
  const hasScopeClaim = grant.scopes.length > 0 || grant.claims.scope !== undefined || grant.claims.scp !== undefined;
  if (hasScopeClaim) {
    const scopes = parseStreamScopes(grant.scopes).filter((s) => s.action === action);
    if (scopes.length === 0) throw new StagedoorError('SCOPE_DENIED', `the token's scope does not include ${action}`);
    if (stream && !scopes.some((s) => s.pattern === undefined || streamMatches(s.pattern, stream))) {
      throw new StagedoorError('STREAM_DENIED', `the token's ${action} scope does not cover this stream`);
    }
  }
  if (stream && grant.subjectIsStream && action !== 'admin') {
    if (grant.subject === undefined) throw new StagedoorError('STREAM_DENIED', 'tokens from this key must name their stream in sub', { claim: 'sub' });
    if (grant.subject !== stream.name && grant.subject !== `${stream.app}/${stream.name}`) throw new StagedoorError('STREAM_DENIED', 'the token is for another stream', { claim: 'sub' });
  }
}
