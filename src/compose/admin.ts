import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { AdminAuth } from '../admin/admin-auth.js';
import { buildAdminServer } from '../admin/admin-server.js';
import { closeGracefully } from '../http/close-gracefully.js';
import { listenFastify } from '../http/listen-fastify.js';
import { listenAs } from './listen-failure.js';
import type { RuntimeInputs } from './runtime.js';
import type { AuthArea } from './auth.js';
import type { Component } from './lifecycle.js';
import type { MediaArea } from './media.js';
import type { OutputsArea } from './outputs.js';
import type { ObservabilityArea } from './observability.js';
import type { DirectoryArea } from './directory.js';

export interface AdminArea {
  /** Undefined when `admin.enabled` is false. */
  admin: FastifyInstance | undefined;
  components: Component[];
  /** Last to start, first to stop: /readyz says ready only while every public port listens. */
  readiness: Component;
}

/** The admin API and dashboard on their own port, and the readiness /readyz reports. */
export async function buildAdmin(
  config: Config,
  log: Logger,
  runtime: RuntimeInputs,
  areas: {
    auth: AuthArea;
    directory: DirectoryArea;
    media: MediaArea;
    outputs: OutputsArea;
    observability: ObservabilityArea;
  },
): Promise<AdminArea> {
  let listening = false;
  const readiness: Component = {
    name: 'readiness',
    start: async () => void (listening = true),
    stop: () => void (listening = false),
  };
  if (!config.admin.enabled) return { admin: undefined, components: [], readiness };
  const { auth, directory, media, outputs, observability } = areas;
  const admin = await buildAdminServer({
    log,
    auth: new AdminAuth(config.admin.apiKeys, auth.authenticator),
    audit: observability.audit,
    metrics: observability.metrics,
    directory: directory.directory,
    events: directory.events,
    revocations: auth.revocations,
    hub: media.hub,
    outputs: outputs.outputs,
    security: auth.security,
    issuers: auth.issuers,
    hls: config.hls,
    source: outputs.source,
    ready: () => listening,
  });
  const listener: Component = {
    name: 'admin',
    start: () => listenAs('admin', runtime.listen.admin, (target) => listenFastify(admin, target)),
    stop: () => closeGracefully(admin),
  };
  return { admin, components: [listener], readiness };
}
