import { StagedoorError } from '../errors.js';
import type { Action } from '../config/schema.js';
import type { Revocation } from './revocations.js';
import type { Grant } from './grant.js';
import type { KeyStore } from './key-store.js';
import type { IssuerStore } from './oidc/issuer-store.js';
import { authorize } from './policy.js';
import type { StreamPath } from '../core/stream-path.js';
import type { Protocol } from '../core/protocol.js';
import type { TokenCache } from './token-cache.js';
import { UNRULED, type StreamRule } from './stream-security.js';
import type { GeoIp } from './geoip.js';
import type { RequestUrl } from '../net/request-url.js';
import {
  checkCompiledAccessRules,
  compileAccessRules,
  type CompiledAccessRules,
} from './access-rules.js';
import { verifyToken } from './verify-token.js';
import { resolveSessionLimit, type SessionLimit } from './session-limit.js';

/** What a protocol server knows about a request; it never decides access itself. */
export interface AccessRequest {
  token: string | undefined;
  /** A short ingest key (`sk_…`) that stands for a token exchanged earlier, instead of `token`. */
  ingestKey?: string | undefined;
  action: Action;
  protocol: Protocol;
  stream: StreamPath | undefined;
  /** Client IP address (no port), after trusted-proxy resolution. */
  address: string;
  /** Origin of an HTTP/WebSocket request (else its Referer's origin); undefined for RTMP. */
  origin?: string | undefined;
  /** The URL the credential was presented on (a CAT's `catu` is matched against it). */
  url?: RequestUrl | undefined;
}

/** The one entry point for access decisions. Resolves with the grant or throws a coded error. */
export interface Authenticator {
  authenticate(request: AccessRequest): Promise<Grant>;
  /** Re-checks a grant admitted earlier against the current rules and this request (a viewer pass). */
  check(grant: Grant, request: Omit<AccessRequest, 'token'>): Promise<void>;
  /**
   * Holds a single-use token for an admission about to open its session (where a cluster's store
   * decides, atomically): TOKEN_REUSED if it was used. Undefined when the token is not single-use.
   */
  reserve(grant: Grant, action: Action): Promise<TokenReservation | undefined>;
  /** Uses up a single-use token for the session admitted now (call right before opening it). */
  consume(grant: Grant, action: Action): void;
  /**
   * The concurrent-session limit a new session of this grant opens under (the stream's rule, else
   * the signing key's or issuer's, lowered by the token's `max_sessions`); undefined: none.
   * CLAIM_INVALID (claim `sub`) for a limited token without a subject.
   */
  sessionLimit(grant: Grant, action: Action, stream: StreamPath): SessionLimit | undefined;
}

/** A single-use token held for a session about to open; given back if the session does not open. */
export interface TokenReservation {
  release(): void;
}

// The shared state the authenticator reads, as ports: this node's classes implement them today
// (StreamSecurity, RevocationList, UsedTokens, IngestKeys); a cluster's shared store can tomorrow.

/** The security rule that governs a stream (most specific match), if any. */
export interface StreamRules {
  ruleFor(stream: StreamPath): StreamRule | undefined;
}

/** The revocation, if any, that matches a grant's `jti` or `sub`. */
export interface Revocations {
  match(grant: Pick<Grant, 'jti' | 'subject'>): Revocation | undefined;
}

/**
 * Single-use tokens: looked at by `authenticate`, held by `reserve` while the admission finishes,
 * used up by `consume`. This node's store decides in `use` (synchronous, at the session's opening);
 * a cluster's decides in `reserve` (one atomic claim in the shared store).
 */
export interface UsedTokenStore {
  /** TOKEN_REUSED (or CLAIM_INVALID without a jti) unless this jti is unused, as far as known here. */
  assertUnused(jti: string | undefined): void;
  /** Holds the jti until `until` for the admission in progress; TOKEN_REUSED if it was used. */
  reserve(jti: string | undefined, until: number | undefined): Promise<TokenReservation>;
  /** Records the use until `until` (the token's exp); TOKEN_REUSED if it was used already. */
  use(jti: string | undefined, until: number | undefined): void;
}

/**
 * Whether this node's copy of shared state (a cluster's revocations, stream rules, ingest keys) may
 * miss a change made elsewhere: then a new admission is refused (CLUSTER_UNAVAILABLE) rather than
 * decided on what may be out of date. Live sessions go on; they are re-checked when the copy is read.
 */
export interface SharedStateFreshness {
  /** Throws CLUSTER_UNAVAILABLE while the copy may be stale. */
  assertCurrent(): void;
}

/** The token an ingest key stands for (INGEST_KEY_UNKNOWN when none, or not for this stream). */
export interface IngestKeyLookup {
  tokenFor(key: string, stream: StreamPath): string;
}

export interface TokenAuthenticatorOptions {
  keys: KeyStore;
  issuers?: IssuerStore | undefined;
  cache: TokenCache;
  security: StreamRules;
  revocations?: Revocations | undefined;
  usedTokens?: UsedTokenStore | undefined;
  ingestKeys?: IngestKeyLookup | undefined;
  /** A cluster's: refuses new admissions while this node's copy of shared state may be stale. */
  sharedState?: SharedStateFreshness | undefined;
  geo: GeoIp;
  clockToleranceSec: number;
  requireExp: boolean;
  maxAccessRuleEntries: number;
  singleUsePublish: boolean;
  /** Refuse tokens whose exp is further ahead than this. */
  maxTokenLifetimeSec?: number;
  now?: () => number;
}

/**
 * Decides every publish, play and admin call: signature and claims (cached until exp, and only
 * while the verifying key is trusted), revocation, what the key and the token's scopes allow, the
 * security rule that governs the stream, and the token's access rules. Each refusal is a
 * StagedoorError with its code. The same checks answer later requests on a viewer pass and decide
 * which live sessions a revocation, a key removal or a security change cuts.
 */
export class TokenAuthenticator implements Authenticator {
  readonly #options: TokenAuthenticatorOptions;
  readonly #now: () => number;
  /** Each verified grant's access rules, compiled on first use: a viewer's every request reuses them. */
  readonly #accessRules = new WeakMap<Grant, CompiledAccessRules | undefined>();

  constructor(options: TokenAuthenticatorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async authenticate(request: AccessRequest): Promise<Grant> {
    // Before anything else: a revocation, a secured stream or a withdrawn key may be what was missed.
    this.#options.sharedState?.assertCurrent();
    const token =
      request.ingestKey !== undefined
        ? this.#tokenOfIngestKey(request.ingestKey, request.stream)
        : request.token;
    // An open stream needs no token (but a token that is sent is still checked, below).
    const grant = token === undefined || token === '' ? anonymousGrant() : await this.verify(token);
    await this.check(grant, request);
    // A single-use token is only looked at here; it is used up by the session that is admitted (consume).
    if (request.action === 'publish' && this.#options.singleUsePublish && !isAnonymous(grant))
      this.#options.usedTokens?.assertUnused(grant.jti);
    return grant;
  }

  #tokenOfIngestKey(key: string, stream: StreamPath | undefined): string {
    if (!this.#options.ingestKeys || !stream) throw new StagedoorError('INGEST_KEY_UNKNOWN');
    return this.#options.ingestKeys.tokenFor(key, stream);
  }

  /** Everything `authenticate` checks after the signature, for a grant verified earlier (a viewer pass). */
  async check(grant: Grant, request: Omit<AccessRequest, 'token'>): Promise<void> {
    this.assertAllowed(grant, request.action, request.stream);
    if (isAnonymous(grant)) return;
    const rules = this.#accessRulesOf(grant);
    if (rules)
      await checkCompiledAccessRules(
        rules,
        { address: request.address, origin: request.origin, url: request.url },
        this.#options.geo,
      );
  }

  #accessRulesOf(grant: Grant): CompiledAccessRules | undefined {
    if (this.#accessRules.has(grant)) return this.#accessRules.get(grant);
    const rules = compileAccessRules(
      grant.claims as Record<string, unknown>,
      this.#options.maxAccessRuleEntries,
    ); // throws CLAIM_INVALID: never cached
    this.#accessRules.set(grant, rules);
    return rules;
  }

  /**
   * Would this grant be allowed `action` on `stream` now: its key still trusted, not revoked, within
   * what its key, scopes and `sub` allow, and within the rule that governs the stream? Synchronous
   * (no access rules, which depend on the request), so that a change of rules can re-check every live
   * session at once. Throws the refusal.
   */
  assertAllowed(grant: Grant, action: Action, stream: StreamPath | undefined): void {
    const rule = stream ? this.#options.security.ruleFor(stream) : undefined;
    if (rule?.error !== undefined)
      throw new StagedoorError(
        'STREAM_RULE_INVALID',
        `the security rule ${rule.match} could not be loaded: ${rule.error}`,
      );
    const settings = rule ?? UNRULED;
    if (isAnonymous(grant)) {
      if (stream && action !== 'admin' && settings[action] === 'open') return;
      throw new StagedoorError('TOKEN_MISSING');
    }
    if (!this.trusts(grant))
      throw new StagedoorError(
        'KEY_UNKNOWN',
        'the key that verified this token is no longer trusted',
      );
    const revoked = this.#options.revocations?.match(grant);
    if (revoked)
      throw new StagedoorError(
        'TOKEN_REVOKED',
        `revoked by ${revoked.type} until ${revoked.until}`,
      );
    authorize(grant, action, stream);
    // A stream's own keys open only the streams their rule governs: a more specific rule replaces it.
    if (grant.keyStreams && (!stream || !rule || !grant.keyStreams.includes(rule.match))) {
      throw new StagedoorError('STREAM_DENIED', 'the signing key belongs to another stream');
    }
    const now = this.#now();
    if (
      this.#options.maxTokenLifetimeSec !== undefined &&
      grant.expiresAt !== undefined &&
      grant.expiresAt - now > this.#options.maxTokenLifetimeSec * 1000
    ) {
      throw new StagedoorError(
        'CLAIM_INVALID',
        `exp is more than ${this.#options.maxTokenLifetimeSec} s ahead`,
        { claim: 'exp' },
      );
    }
    const requireExp = settings.requireExp ?? this.#options.requireExp;
    if (requireExp && grant.expiresAt === undefined)
      throw new StagedoorError('CLAIM_INVALID', 'this stream requires tokens with exp', {
        claim: 'exp',
      });
    if (settings.maxTokenLifetimeSec !== undefined && grant.expiresAt !== undefined) {
      const from = typeof grant.claims.iat === 'number' ? grant.claims.iat * 1000 : now;
      if (
        grant.expiresAt - from >
        settings.maxTokenLifetimeSec * 1000 + this.#options.clockToleranceSec * 1000
      ) {
        throw new StagedoorError(
          'CLAIM_INVALID',
          `this stream accepts tokens valid for at most ${settings.maxTokenLifetimeSec} s`,
          { claim: 'exp' },
        );
      }
    }
  }

  async reserve(grant: Grant, action: Action): Promise<TokenReservation | undefined> {
    if (!this.#singleUse(grant, action)) return undefined;
    return this.#options.usedTokens?.reserve(grant.jti, grant.expiresAt);
  }

  /** Uses up a single-use publish token for the session being admitted now (TOKEN_REUSED if it was). */
  consume(grant: Grant, action: Action): void {
    if (this.#singleUse(grant, action)) this.#options.usedTokens?.use(grant.jti, grant.expiresAt);
  }

  sessionLimit(grant: Grant, action: Action, stream: StreamPath): SessionLimit | undefined {
    if (action === 'admin') return undefined;
    return resolveSessionLimit(
      grant,
      action,
      this.#options.security.ruleFor(stream),
      isAnonymous(grant),
    );
  }

  #singleUse(grant: Grant, action: Action): boolean {
    return action === 'publish' && this.#options.singleUsePublish && !isAnonymous(grant);
  }

  /** Is the key that verified this grant still trusted (not replaced, removed, or retired by its issuer)? */
  trusts(grant: Grant): boolean {
    const signer = grant.signer;
    if (!signer) return isAnonymous(grant);
    if (signer.kind === 'static') return this.#options.keys.trusts(signer.key);
    return this.#options.issuers?.trusts(signer.issuer, signer.kid) ?? false;
  }

  /** Verifies a token (cached until its exp, while its key is trusted) without matching it to a request. */
  async verify(token: string): Promise<Grant> {
    const now = this.#now();
    const cached = this.#options.cache.get(token, now);
    if (cached && this.trusts(cached)) return cached;
    // exp is required or not per stream: the check happens in authenticate, not here.
    const grant = await verifyToken(
      token,
      { keys: this.#options.keys, issuers: this.#options.issuers },
      { clockToleranceSec: this.#options.clockToleranceSec, requireExp: false },
      now,
    );
    this.#options.cache.set(token, grant, now);
    return grant;
  }
}

/** What an anonymous viewer or publisher of an open stream holds: no subject, no expiry. */
export function anonymousGrant(): Grant {
  return {
    subject: undefined,
    scopes: [],
    scoped: false,
    tokenId: 'anonymous',
    jti: undefined,
    kid: undefined,
    issuer: undefined,
    expiresAt: undefined,
    keyActions: new Set(['publish', 'play']),
    subjectIsStream: false,
    subjectRequired: false,
    keySource: 'open-stream',
    signer: undefined,
    claims: {},
  };
}

/** Is this the grant of a token-less client on an open stream? */
export function isAnonymous(grant: Grant): boolean {
  return grant.keySource === 'open-stream';
}
