import type { Config } from './config/schema.js';
import type { Logger } from './log/logger.js';
import type { Stagedoor } from './stagedoor.js';
import { freezeConfig } from './config/freeze.js';
import { startAll, stopAll } from './compose/lifecycle.js';
import { resolveRuntimeInputs } from './compose/runtime.js';
import { buildAuth } from './compose/auth.js';
import { buildSessions } from './compose/sessions.js';
import { buildMedia } from './compose/media.js';
import { buildOutputs } from './compose/outputs.js';
import { buildObservability } from './compose/observability.js';
import { buildAccess } from './compose/access.js';
import { buildIngest } from './compose/ingest.js';
import { addressOf, buildPublicHttp, where } from './compose/public-http.js';
import { buildAdmin } from './compose/admin.js';
import { buildPasses } from './compose/passes.js';
import { buildCluster } from './compose/cluster.js';
import { buildDirectory } from './compose/directory.js';
import { buildMediaHop } from './compose/hop.js';

export type { Stagedoor } from './stagedoor.js';

/** Builds every area from a validated config, in order; nothing listens until `start`. */
export async function createStagedoor(input: Config, log: Logger): Promise<Stagedoor> {
  const config = freezeConfig(input);
  const runtime = resolveRuntimeInputs(config);
  const cluster = await buildCluster(config, runtime, log);
  const auth = await buildAuth(config, log, cluster);
  const sessions = buildSessions(log, auth, cluster);
  const media = buildMedia(config, cluster);
  const outputs = buildOutputs(config, runtime, media.hub, log);
  const observability = buildObservability(log, auth, sessions, outputs);
  const directory = buildDirectory(config, cluster, { sessions, media, outputs, observability });
  const access = buildAccess(auth, sessions, media, observability, cluster);
  const ingest = buildIngest(config, log, runtime, { access, media });
  const passes = await buildPasses(config, log, cluster.passKeys);
  const hop = buildMediaHop(config, log, cluster, { media, outputs });
  // Delivery (and the dashboard's preview) read media through the hop: this node's, or its owner's.
  const delivered = { ...outputs, source: hop.source };
  const built = {
    auth,
    sessions,
    media,
    outputs: delivered,
    observability,
    access,
    ingest,
    passes,
    directory,
  };
  const http = buildPublicHttp(config, log, runtime, built);
  const admin = await buildAdmin(config, log, runtime, built);
  // Started in this order, stopped in reverse: readiness off, sessions cut, then listeners and FFmpeg.
  // The cluster's connection first up, last down: sessions cut at stop still give their leases back.
  const components = [
    ...cluster.components,
    ...hop.components,
    ...directory.components,
    ...auth.components,
    ...outputs.components,
    ...ingest.components,
    ...http.components,
    ...admin.components,
    ...sessions.components,
    admin.readiness,
  ];
  let stopping: Promise<void> | undefined;
  const { keys, authenticator, security, revocations, ingestKeys, issuers } = auth;
  return {
    ...{ config, keys, authenticator, security, revocations, ingestKeys, issuers },
    ...observability,
    registry: sessions.registry,
    hub: media.hub,
    outputs: outputs.outputs,
    hlsViewers: http.hlsViewers,
    async start() {
      await startAll(components);
      const served = admin.admin;
      const addresses = {
        ...ingest.addresses(),
        http: addressOf(http.http),
        admin: served ? addressOf(served) : undefined,
      };
      const https = runtime.httpTls !== undefined;
      log.info(
        { event: 'listening', ...where(addresses), https, keys: keys.size },
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
