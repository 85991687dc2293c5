import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import type { Logger } from './log/logger.js';
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
import { startAll, stopAll, type Component } from './compose/lifecycle.js';
import { resolveRuntimeInputs } from './compose/runtime.js';
import { buildAuth } from './compose/auth.js';
import { buildSessions } from './compose/sessions.js';
import { buildMedia } from './compose/media.js';
import { buildOutputs } from './compose/outputs.js';
import { buildObservability } from './compose/observability.js';
import { buildAccess } from './compose/access.js';
import { buildIngest } from './compose/ingest.js';
import { addressOf, buildPublicHttp } from './compose/public-http.js';
import { buildAdmin } from './compose/admin.js';

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
  start(): Promise<{
    rtmp: AddressInfo;
    http: AddressInfo;
    admin: AddressInfo | undefined;
    rtmps: AddressInfo | undefined;
  }>;
  /** Stops accepting, closes every session with reason `shutdown`, closes the listeners. */
  stop(): Promise<void>;
}

/** Builds every area from a validated config, in order; nothing listens until `start`. */
export async function createStagedoor(config: Config, log: Logger): Promise<Stagedoor> {
  const runtime = resolveRuntimeInputs(config);
  const auth = await buildAuth(config, log);
  const sessions = buildSessions(log, auth);
  const media = buildMedia(config);
  const outputs = buildOutputs(config, media.hub, log);
  const observability = buildObservability(log, auth, sessions, outputs);
  const access = buildAccess(auth, media, observability);
  const ingest = buildIngest(config, log, runtime, { access, auth, sessions, media });
  const publicHttp = buildPublicHttp(config, log, runtime, {
    access,
    auth,
    sessions,
    observability,
    ingest,
  });
  let listening = false;
  const admin = await buildAdmin(config, log, () => listening, {
    auth,
    sessions,
    media,
    outputs,
    observability,
  });
  const readiness: Component = {
    name: 'readiness',
    start: async () => void (listening = true),
    stop: () => void (listening = false),
  };
  // Started in this order, stopped in reverse: readiness off, sessions cut, then listeners and FFmpeg.
  const components = [
    ...auth.components,
    ...outputs.components,
    ...ingest.components,
    ...publicHttp.components,
    ...admin.components,
    ...sessions.components,
    readiness,
  ];
  let stopping: Promise<void> | undefined;
  const { keys, authenticator, security, revocations, ingestKeys, issuers } = auth;
  return {
    config,
    keys,
    authenticator,
    security,
    revocations,
    ingestKeys,
    issuers,
    registry: sessions.registry,
    hub: media.hub,
    outputs: outputs.outputs,
    hlsViewers: publicHttp.hlsViewers,
    ...observability,
    async start() {
      await startAll(components);
      const addresses = {
        ...ingest.addresses(),
        http: addressOf(publicHttp.http),
        admin: admin.admin ? addressOf(admin.admin) : undefined,
      };
      const where = (a: AddressInfo | undefined) => (a ? `${a.address}:${a.port}` : undefined);
      log.info(
        {
          event: 'listening',
          rtmp: where(addresses.rtmp),
          http: where(addresses.http),
          admin: where(addresses.admin),
          rtmps: where(addresses.rtmps),
          https: runtime.httpTls !== undefined,
          keys: keys.size,
        },
        'stagedoor listening',
      );
      return addresses;
    },
    stop() {
      stopping ??= (async () => {
        const closed = sessions.registry.size;
        await stopAll(components);
        log.info({ event: 'stopped', sessionsClosed: closed }, 'stagedoor stopped');
      })();
      return stopping;
    },
  };
}
