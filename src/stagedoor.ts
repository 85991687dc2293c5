import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import type { KeyStore } from './auth/key-store.js';
import type { TokenAuthenticator } from './auth/authenticator.js';
import type { StreamSecurity } from './auth/stream-security.js';
import type { RevocationList } from './auth/revocations.js';
import type { IngestKeys } from './auth/ingest-keys.js';
import type { IssuerStore } from './auth/oidc/issuer-store.js';
import type { SessionRegistry } from './sessions/session-registry.js';
import type { StreamHub } from './media/stream-hub.js';
import type { OutputManager } from './outputs/output-manager.js';
import type { HlsViewers } from './delivery/hls-viewers.js';
import type { Metrics } from './observability/metrics.js';
import type { Audit } from './observability/audit.js';

/** Where each listener bound (port 0 picks a free one). */
export interface ListeningAddresses {
  rtmp: AddressInfo;
  http: AddressInfo;
  admin: AddressInfo | undefined;
  rtmps: AddressInfo | undefined;
}

/** A built server: its parts (for the CLI and the tests) and its lifecycle. */
export interface Stagedoor {
  readonly config: Config;
  readonly keys: KeyStore;
  readonly authenticator: TokenAuthenticator;
  readonly registry: SessionRegistry;
  readonly hub: StreamHub;
  /** Undefined when `hls.enabled` is false. */
  readonly outputs: OutputManager | undefined;
  readonly hlsViewers: HlsViewers;
  readonly security: StreamSecurity;
  readonly revocations: RevocationList;
  readonly ingestKeys: IngestKeys;
  readonly issuers: IssuerStore;
  readonly metrics: Metrics;
  readonly audit: Audit;
  /** Listens on every port; resolves with the bound addresses (port 0 picks a free one). */
  start(): Promise<ListeningAddresses>;
  /** Stops accepting, closes every session with reason `shutdown`, closes the listeners. */
  stop(): Promise<void>;
}
