import type { Config, StreamRuleConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { ClusterArea } from './cluster.js';
import { stateFiles } from './state-files.js';
import { importTrustedKey } from '../auth/import-key.js';
import { KeyStore } from '../auth/key-store.js';
import { TokenCache } from '../auth/token-cache.js';
import { TokenAuthenticator } from '../auth/authenticator.js';
import { FileStreamRuleStore, StreamSecurity } from '../auth/stream-security.js';
import { IssuerStore } from '../auth/oidc/issuer-store.js';
import { GeoIp } from '../auth/geoip.js';
import { UsedTokens } from '../auth/used-tokens.js';
import { FileIngestKeyStore, IngestKeys, type StoredKey } from '../auth/ingest-keys.js';
import { FileRevocationStore, RevocationList, type Revocation } from '../auth/revocations.js';
import type { Component } from './lifecycle.js';

export interface AuthArea {
  keys: KeyStore;
  security: StreamSecurity;
  revocations: RevocationList;
  ingestKeys: IngestKeys;
  issuers: IssuerStore;
  authenticator: TokenAuthenticator;
  components: Component[];
}

/** Keys, issuers, run-time rules and lists (each persisted under stateDir), and the authenticator over them. */
export async function buildAuth(
  config: Config,
  log: Logger,
  cluster: Pick<
    ClusterArea,
    'revocationStore' | 'streamRuleStore' | 'ingestKeyStore' | 'usedTokens'
  >,
): Promise<AuthArea> {
  const keys = new KeyStore(
    await Promise.all(config.auth.keys.map((key, i) => importTrustedKey(key, `auth.keys[${i}]`))),
  );
  const state = stateFiles(config, log);
  const security = await StreamSecurity.create(
    config.streams,
    keys,
    cluster.streamRuleStore ??
      new FileStreamRuleStore(state<StreamRuleConfig[]>('stream-security.json')),
    log.child({ component: 'security' }),
  );
  const revocations = await RevocationList.create(
    cluster.revocationStore ?? new FileRevocationStore(state<Revocation[]>('revocations.json')),
    log.child({ component: 'revocations' }),
  );
  const usedTokens = config.auth.singleUsePublish
    ? (cluster.usedTokens ??
      (await UsedTokens.create(state<Record<string, number>>('used-tokens.json'))))
    : undefined;
  const ingestKeys = await IngestKeys.create(
    cluster.ingestKeyStore ?? new FileIngestKeyStore(state<StoredKey[]>('ingest-keys.json')),
    log.child({ component: 'ingest-keys' }),
  );
  const issuerLog = log.child({ component: 'oidc' });
  const issuers = new IssuerStore(config.auth.issuers, issuerLog);
  const authenticator = new TokenAuthenticator({
    keys,
    issuers,
    cache: new TokenCache(config.auth.cacheMaxEntries),
    security,
    revocations,
    usedTokens,
    ingestKeys,
    geo: new GeoIp(),
    clockToleranceSec: config.auth.clockToleranceSec,
    requireExp: config.auth.requireExp,
    maxAccessRuleEntries: config.auth.maxAccessRuleEntries,
    singleUsePublish: config.auth.singleUsePublish,
    maxTokenLifetimeSec: config.auth.maxTokenLifetimeSec,
  });
  const issuerKeys: Component = {
    name: 'issuer keys',
    start: () => issuers.warm(issuerLog),
    stop: () => issuers.close(),
  };
  return {
    keys,
    security,
    revocations,
    ingestKeys,
    issuers,
    authenticator,
    components: [issuerKeys],
  };
}
