import { StagedoorError } from '../../errors.js';
import type {
  Action,
  IssuerConfig,
  SessionLimitsConfig,
  SupportedAlg,
} from '../../config/schema.js';
import type { Logger } from '../../log/logger.js';
import { IssuerKeys } from './issuer-keys.js';

/** One trusted OpenID issuer with its keys. */
export interface TrustedIssuer {
  issuer: string;
  audience: string | string[] | undefined;
  algorithms: SupportedAlg[];
  actions: ReadonlySet<Action>;
  subject: 'stream' | 'principal';
  permissionsClaim: string | undefined;
  /** Scope values of a token that carries no scope and no permissions claim. */
  defaultScopes: readonly string[];
  /** Concurrent sessions per subject for this issuer's tokens (`maxSessionsPerSubject`). */
  sessionLimits: SessionLimitsConfig | undefined;
  keys: IssuerKeys;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Checks an issuer URL: HTTPS, or plain HTTP on loopback when the config allows it explicitly. */
export function checkIssuerUrl(url: string, allowHttp: boolean, where: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StagedoorError('CONFIG_INVALID', `invalid configuration: "${where}": not a URL`);
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && allowHttp && LOOPBACK.has(parsed.hostname)) return parsed;
  throw new StagedoorError(
    'CONFIG_INVALID',
    `invalid configuration: "${where}": issuers must use https (plain http only for a loopback issuer with allowHttp: true)`,
  );
}

/**
 * The OpenID issuers Stagedoor trusts, found by a token's `iss`. Keys come from the discovery
 * document's `jwks_uri`; discovery is retried until it works and never blocks startup.
 */
export class IssuerStore {
  readonly #byIssuer = new Map<string, TrustedIssuer>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #retiredListeners = new Set<(issuer: string, kids: string[]) => void>();

  constructor(configs: readonly IssuerConfig[], log: Logger, fetchImpl: typeof fetch = fetch) {
    configs.forEach((config, i) => {
      const where = `auth.issuers[${i}]`;
      const issuerUrl = checkIssuerUrl(config.issuer, config.allowHttp, `${where}.issuer`);
      if (config.jwksUri) checkIssuerUrl(config.jwksUri, config.allowHttp, `${where}.jwksUri`);
      let jwksUri: Promise<URL> | undefined;
      const discover = (): Promise<URL> => {
        jwksUri ??= (async () => {
          if (config.jwksUri) return new URL(config.jwksUri);
          const base = issuerUrl.href.replace(/\/$/, '');
          const response = await fetchImpl(`${base}/.well-known/openid-configuration`, {
            redirect: 'error',
            signal: AbortSignal.timeout(config.timeoutSec * 1000),
          });
          if (response.status !== 200) throw new Error(`discovery answered ${response.status}`);
          const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
          if (document.issuer !== config.issuer)
            throw new Error(
              `discovery names issuer ${String(document.issuer)}, expected ${config.issuer}`,
            );
          if (typeof document.jwks_uri !== 'string') throw new Error('discovery has no jwks_uri');
          return checkIssuerUrl(document.jwks_uri, config.allowHttp, `${where} jwks_uri`);
        })().catch((error: unknown) => {
          jwksUri = undefined; // try discovery again next time
          throw error;
        });
        return jwksUri;
      };
      const keys = new IssuerKeys({
        jwksUri: discover,
        cooldownMs: config.jwksCooldownSec * 1000,
        refreshMs: config.jwksRefreshSec * 1000,
        timeoutMs: config.timeoutSec * 1000,
        fetch: fetchImpl,
        onRetired: (kids) => {
          log.warn(
            { event: 'jwks_keys_retired', issuer: config.issuer, kids },
            'issuer keys were removed from its key set; their tokens are no longer trusted',
          );
          for (const listener of this.#retiredListeners) listener(config.issuer, kids);
        },
      });
      if (this.#byIssuer.has(config.issuer))
        throw new StagedoorError(
          'CONFIG_INVALID',
          `invalid configuration: "${where}.issuer": issuer listed twice`,
        );
      this.#byIssuer.set(config.issuer, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: config.algorithms,
        actions: new Set(config.actions),
        subject: config.subject,
        permissionsClaim: config.permissionsClaim,
        defaultScopes: config.defaultScopes,
        sessionLimits: config.maxSessionsPerSubject,
        keys,
      });
      const timer = setInterval(() => {
        void keys.refresh().then(() => {
          if (keys.lastError)
            log.warn(
              { event: 'jwks_refresh_failed', issuer: config.issuer, error: keys.lastError },
              'jwks refresh failed, keeping the keys already known',
            );
        });
      }, config.jwksRefreshSec * 1000);
      timer.unref();
      this.#timers.push(timer);
    });
  }

  get size(): number {
    return this.#byIssuer.size;
  }

  get(issuer: unknown): TrustedIssuer | undefined {
    return typeof issuer === 'string' ? this.#byIssuer.get(issuer) : undefined;
  }

  /** Is the issuer key that verified a token (by kid) still in the issuer's key set? */
  trusts(issuer: string, kid: string | undefined): boolean {
    return this.#byIssuer.get(issuer)?.keys.trusts(kid) ?? false;
  }

  /** Called when a refreshed key set no longer holds keys it held before (a provider retired them). */
  onKeysRetired(listener: (issuer: string, kids: string[]) => void): () => void {
    this.#retiredListeners.add(listener);
    return () => this.#retiredListeners.delete(listener);
  }

  list(): TrustedIssuer[] {
    return [...this.#byIssuer.values()];
  }

  /** Fetches every issuer's keys once (at start); failures are logged and retried on demand. */
  async warm(log: Logger): Promise<void> {
    await Promise.all(
      this.list().map(async (issuer) => {
        await issuer.keys.refresh();
        if (issuer.keys.lastError)
          log.warn(
            { event: 'jwks_unavailable', issuer: issuer.issuer, error: issuer.keys.lastError },
            'issuer keys not available yet',
          );
        else
          log.info(
            { event: 'jwks_loaded', issuer: issuer.issuer, keys: issuer.keys.keyCount },
            'issuer keys loaded',
          );
      }),
    );
  }

  close(): void {
    for (const timer of this.#timers) clearInterval(timer);
  }
}
