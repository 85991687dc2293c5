import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { ClusterArea } from './cluster.js';
import { stateFiles } from './state-files.js';
import { importTrustedKey } from '../auth/import-key.js';
import { KeyStore } from '../auth/key-store.js';
import { TokenCache } from '../auth/token-cache.js';
import { TokenAuthenticator } from '../auth/authenticator.js';
import {
  FileStreamRuleStore,
  StreamSecurity,
  type SavedStreamRule,
} from '../auth/stream-security.js';
import { IssuerStore } from '../auth/oidc/issuer-store.js';
import { GeoIp } from '../auth/geoip.js';
import { UsedTokens } from '../auth/used-tokens.js';
import { FileIngestKeyStore, IngestKeys, readStoredKey } from '../auth/ingest-keys.js';
import { JournalStore } from '../state/journal-store.js';
import { join } from 'node:path';
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
    'revocationStore' | 'streamRuleStore' | 'ingestKeyStore' | 'usedTokens' | 'sharedState'
  >,
): Promise<AuthArea> {
  const keys = new KeyStore(
    await Promise.all(config.auth.keys.map((key, i) => importTrustedKey(key, `auth.keys[${i}]`))),
  );
  const state = stateFiles(config, log);
  const stateLog = log.child({ component: 'state' });
  const security = await StreamSecurity.create(
    config.streams,
    keys,
    cluster.streamRuleStore ??
      new FileStreamRuleStore(state<SavedStreamRule[]>('stream-security.json'), stateLog),
    log.child({ component: 'security' }),
  );
  const revocations = await RevocationList.create(
    cluster.revocationStore ??
      new FileRevocationStore(state<Revocation[]>('revocations.json'), stateLog),
    log.child({ component: 'revocations' }),
  );
  const usedTokens = config.auth.singleUsePublish
    ? (cluster.usedTokens ??
      (await UsedTokens.create(state<Record<string, number>>('used-tokens.json'))))
    : undefined;
  const ingestKeys = await IngestKeys.create(
    cluster.ingestKeyStore ??
      new FileIngestKeyStore(
        new JournalStore(join(config.stateDir, 'ingest-keys.jsonl'), {
          what: 'ingest keys',
          read: readStoredKey,
          log: stateLog,
          legacy: { path: join(config.stateDir, 'ingest-keys.json') },
        }),
      ),
    log.child({ component: 'ingest-keys' }),
    { maxKeys: config.auth.ingestKeys.maxKeys },
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
    sharedState: cluster.sharedState,
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
    components: [issuerKeys, { name: 'ingest keys', stop: () => ingestKeys.close() }],
  };
}
