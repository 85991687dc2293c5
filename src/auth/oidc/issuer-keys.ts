import {
  createLocalJWKSet,
  errors as joseErrors,
  type CryptoKey,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type FlattenedJWSInput,
} from 'jose';
import { StagedoorError } from '../../errors.js';

type LocalSet = ReturnType<typeof createLocalJWKSet>;

export interface IssuerKeysOptions {
  /** Resolves the JWKS URL (OIDC discovery); called again until it succeeds. */
  jwksUri: () => Promise<URL>;
  /** At most one refetch per this many ms, whatever the outcome of the last one. */
  cooldownMs: number;
  /** Keys are refreshed in the background this often; a failed refresh keeps the old keys. */
  refreshMs: number;
  timeoutMs: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Kids that a successful refresh no longer lists (never called for a failed fetch). */
  onRetired?: (kids: string[]) => void;
}

/**
 * An issuer's signing keys. jose's createRemoteJWKSet is close, but it drops known keys once its
 * cache ages out while the provider is down, and it refetches on every unknown kid after a failed
 * fetch. Here key selection is jose's (createLocalJWKSet); fetching keeps the last good set when
 * the provider fails, and the cooldown counts attempts, so a flood of bogus kids costs at most one
 * fetch per cooldown.
 */
export class IssuerKeys {
  readonly #options: IssuerKeysOptions;
  readonly #now: () => number;
  #local: LocalSet | undefined;
  #jwks: JSONWebKeySet | undefined;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  /** Fetches attempted, and when keys were last fetched successfully (for metrics). */
  fetches = 0;
  fetchedAt: number | undefined;
  lastError: string | undefined;

  constructor(options: IssuerKeysOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get keyCount(): number {
    return this.#jwks?.keys.length ?? 0;
  }

  /**
   * Does the current key set still hold the key a token was verified with? By kid; a token without
   * a kid is trusted while the set holds any key without one (jose picks among those).
   */
  trusts(kid: string | undefined): boolean {
    const keys = this.#jwks?.keys ?? [];
    return kid === undefined
      ? keys.some((k) => k.kid === undefined)
      : keys.some((k) => k.kid === kid);
  }

  /** A jose key resolver for jwtVerify. */
  readonly resolve = async (
    header: JWSHeaderParameters,
    token: FlattenedJWSInput,
  ): Promise<CryptoKey> => {
    if (!this.#local) await this.#refreshIfAllowed();
    try {
      if (!this.#local) throw new joseErrors.JWKSNoMatchingKey();
      return (await this.#local(header, token)) as CryptoKey;
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      // An unknown kid may be a rotation: look again, at most once per cooldown.
      if (await this.#refreshIfAllowed()) {
        try {
          return (await this.#local!(header, token)) as CryptoKey;
        } catch (retry) {
          if (retry instanceof joseErrors.JWKSNoMatchingKey)
            throw new StagedoorError('KEY_UNKNOWN', 'the issuer has no key with this kid', {
              cause: retry,
            });
          throw retry;
        }
      }
      throw new StagedoorError(
        'KEY_UNKNOWN',
        this.#local
          ? 'the issuer has no key with this kid'
          : `the issuer's keys are not available (${this.lastError ?? 'not fetched yet'})`,
        { cause: error },
      );
    }
  };

  /** Fetches now unless a fetch was attempted within the cooldown; true when new keys arrived. */
  async #refreshIfAllowed(): Promise<boolean> {
    if (this.#inflight) {
      await this.#inflight;
      return this.#local !== undefined;
    }
    if (this.#now() - this.#lastAttempt < this.#options.cooldownMs) return false;
    await this.refresh();
    return this.#local !== undefined;
  }

  /** Fetches the key set (single flight). Failures are recorded, never thrown, and keep the old keys. */
  refresh(): Promise<void> {
    this.#inflight ??= (async () => {
      this.#lastAttempt = this.#now();
      this.fetches++;
      try {
        const url = await this.#options.jwksUri();
        const response = await (this.#options.fetch ?? fetch)(url, {
          redirect: 'error',
          signal: AbortSignal.timeout(this.#options.timeoutMs),
          headers: { accept: 'application/json, application/jwk-set+json' },
        });
        if (response.status !== 200) throw new Error(`JWKS answered ${response.status}`);
        const jwks = (await response.json()) as JSONWebKeySet;
        const local = createLocalJWKSet(jwks);
        const before =
          this.#jwks?.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string') ??
          [];
        this.#jwks = jwks;
        this.#local = local;
        this.fetchedAt = this.#now();
        this.lastError = undefined;
        const retired = before.filter((kid) => !this.trusts(kid));
        if (retired.length > 0) this.#options.onRetired?.(retired);
      } catch (error) {
        this.lastError = (error as Error).message;
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }
}
