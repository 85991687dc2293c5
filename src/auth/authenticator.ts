import { StagedoorError } from '../errors.js';
import type { Action } from '../config/schema.js';
import type { RevocationList } from '../sessions/revocations.js';
import type { Grant } from './grant.js';
import type { KeyStore } from './key-store.js';
import type { IssuerStore } from './oidc/issuer-store.js';
import { authorize } from './policy.js';
import type { StreamPath } from './stream-path.js';
import type { TokenCache } from './token-cache.js';
import type { StreamSecurity } from './stream-security.js';
import type { UsedTokens } from './used-tokens.js';
import type { GeoIp } from './geoip.js';
import { checkAccessRules } from './access-rules.js';
import { verifyToken } from './verify-token.js';

export type Protocol = 'rtmp' | 'ws' | 'hls' | 'http';

/** What a protocol server knows about a request; it never decides access itself. */
export interface AccessRequest {
  token: string | undefined;
  action: Action;
  protocol: Protocol;
  stream: StreamPath | undefined;
  /** Client IP address (no port), after trusted-proxy resolution. */
  address: string;
  /** Origin of an HTTP/WebSocket request (else its Referer's origin); undefined for RTMP. */
  origin?: string | undefined;
}

/** The one entry point for access decisions. Resolves with the grant or throws a coded error. */
export interface Authenticator {
  authenticate(request: AccessRequest): Promise<Grant>;
}

export interface TokenAuthenticatorOptions {
  keys: KeyStore;
  issuers?: IssuerStore | undefined;
  cache: TokenCache;
  security: Pick<StreamSecurity, 'settingsFor'>;
  revocations?: Pick<RevocationList, 'match'> | undefined;
  usedTokens?: Pick<UsedTokens, 'use'> | undefined;
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
 * Decides every publish and play: signature and claims (cached until exp), revocation, what the
 * key and the token's scopes allow, the stream's own security settings, and the token's access
 * rules. Each refusal is a StagedoorError with its code.
 */
export class TokenAuthenticator implements Authenticator {
  readonly #options: TokenAuthenticatorOptions;
  readonly #now: () => number;

  constructor(options: TokenAuthenticatorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async authenticate(request: AccessRequest): Promise<Grant> {
    const settings = request.stream ? this.#options.security.settingsFor(request.stream) : undefined;
    if (request.token === undefined || request.token === '') {
      // An open stream needs no token (but a token that is sent is still checked, below).
      if (settings && request.action !== 'admin' && settings[request.action] === 'open') return anonymousGrant();
      throw new StagedoorError('TOKEN_MISSING');
    }
    const grant = await this.verify(request.token);
    const revoked = this.#options.revocations?.match(grant);
    if (revoked) throw new StagedoorError('TOKEN_REVOKED', `revoked by ${revoked.type} until ${revoked.until}`);
    authorize(grant, request.action, request.stream);
    if (this.#options.maxTokenLifetimeSec !== undefined && grant.expiresAt !== undefined && grant.expiresAt - this.#now() > this.#options.maxTokenLifetimeSec * 1000) {
      throw new StagedoorError('CLAIM_INVALID', `exp is more than ${this.#options.maxTokenLifetimeSec} s ahead`, { claim: 'exp' });
    }
    const requireExp = settings?.requireExp ?? this.#options.requireExp;
    if (requireExp && grant.expiresAt === undefined) throw new StagedoorError('CLAIM_INVALID', 'this stream requires tokens with exp', { claim: 'exp' });
    if (settings?.maxTokenLifetimeSec !== undefined && grant.expiresAt !== undefined) {
      const from = typeof grant.claims.iat === 'number' ? grant.claims.iat * 1000 : this.#now();
      if (grant.expiresAt - from > settings.maxTokenLifetimeSec * 1000 + this.#options.clockToleranceSec * 1000) {
        throw new StagedoorError('CLAIM_INVALID', `this stream accepts tokens valid for at most ${settings.maxTokenLifetimeSec} s`, { claim: 'exp' });
      }
    }
    await checkAccessRules(grant.claims as Record<string, unknown>, { address: request.address, origin: request.origin }, this.#options.geo, this.#options.maxAccessRuleEntries);
    if (request.action === 'publish' && this.#options.singleUsePublish) this.#options.usedTokens?.use(grant.jti, grant.expiresAt);
    return grant;
  }

  /** Verifies a token (cached until its exp) without matching it to a request. */
  async verify(token: string): Promise<Grant> {
    const now = this.#now();
    const cached = this.#options.cache.get(token, now);
    if (cached) return cached;
    // exp is required or not per stream: the check happens in authenticate, not here.
    const grant = await verifyToken(token, { keys: this.#options.keys, issuers: this.#options.issuers }, { clockToleranceSec: this.#options.clockToleranceSec, requireExp: false }, now);
    this.#options.cache.set(token, grant, now);
    return grant;
  }
}

/** What an anonymous viewer or publisher of an open stream holds: no subject, no expiry. */
export function anonymousGrant(): Grant {
  return {
    subject: undefined,
    scopes: [],
    tokenId: 'anonymous',
    jti: undefined,
    kid: undefined,
    issuer: undefined,
    expiresAt: undefined,
    keyActions: new Set(['publish', 'play']),
    subjectIsStream: false,
    keySource: 'open-stream',
    claims: {},
  };
}

/** Is this the grant of a token-less client on an open stream? */
export function isAnonymous(grant: Grant): boolean {
  return grant.keySource === 'open-stream';
}
