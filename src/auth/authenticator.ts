import { StagedoorError } from '../errors.js';
import type { Action } from '../config/schema.js';
import type { Grant } from './grant.js';
import type { KeyStore } from './key-store.js';
import { authorize } from './policy.js';
import type { StreamPath } from './stream-path.js';
import type { TokenCache } from './token-cache.js';
import type { StreamRules } from './stream-rules.js';
import { verifyToken, type VerifyOptions } from './verify-token.js';

export type Protocol = 'rtmp' | 'ws' | 'hls' | 'http';

/** What a protocol server knows about a request; it never decides access itself. */
export interface AccessRequest {
  token: string | undefined;
  action: Action;
  protocol: Protocol;
  stream: StreamPath | undefined;
  /** Client IP address (no port). */
  address: string;
  origin?: string | undefined;
}

/** The one entry point for access decisions. Resolves with the grant or throws a coded error. */
export interface Authenticator {
  authenticate(request: AccessRequest): Promise<Grant>;
}

export interface TokenAuthenticatorOptions extends VerifyOptions {
  keys: KeyStore;
  cache: TokenCache;
  rules: StreamRules;
  now?: () => number;
}

export class TokenAuthenticator implements Authenticator {
  readonly #options: TokenAuthenticatorOptions;
  readonly #now: () => number;

  constructor(options: TokenAuthenticatorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async authenticate(request: AccessRequest): Promise<Grant> {
    if (request.token === undefined || request.token === '') {
      // An open stream needs no token (but a token that is sent is still checked, below).
      if (request.stream && this.#options.rules.securityFor(request.stream, request.action) === 'open') return anonymousGrant();
      throw new StagedoorError('TOKEN_MISSING');
    }
    const grant = await this.verify(request.token);
    authorize(grant, request.action, request.stream);
    return grant;
  }

  /** Verifies a token (cached until its exp) without matching it to a request. */
  async verify(token: string): Promise<Grant> {
    const now = this.#now();
    const cached = this.#options.cache.get(token, now);
    if (cached) return cached;
    const grant = await verifyToken(token, this.#options.keys, this.#options, now);
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
