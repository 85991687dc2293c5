import type { AddressInfo } from 'node:net';
import type { OutputsArea } from './outputs.js';
import { RateLimiter } from '../core/rate-limiter.js';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { buildHttpServer } from '../http/http-server.js';
import { registerStaticPages } from '../http/static-pages.js';
import { closeGracefully } from '../http/close-gracefully.js';
import { listenFastify } from '../http/listen-fastify.js';
import { listenAs } from './listen-failure.js';
import { HlsViewers } from '../delivery/hls-viewers.js';
import { registerHlsRoutes } from '../delivery/hls-routes.js';
import { registerIngestKeyRoute } from '../ingest/ingest-key-route.js';
import type { AccessArea } from './access.js';
import type { AuthArea } from './auth.js';
import type { IngestArea } from './ingest.js';
import type { PassesArea } from './passes.js';
import type { Component } from './lifecycle.js';
import type { ObservabilityArea } from './observability.js';
import type { RuntimeInputs } from './runtime.js';

export interface PublicHttpArea {
  http: FastifyInstance;
  hlsViewers: HlsViewers;
  components: Component[];
}

/** The public HTTP port: the built-in pages, HLS delivery, WebSocket ingest and the ingest-key exchange. */
export function buildPublicHttp(
  config: Config,
  log: Logger,
  runtime: RuntimeInputs,
  areas: {
    access: AccessArea;
    auth: AuthArea;
    observability: ObservabilityArea;
    ingest: IngestArea;
    passes: PassesArea;
    outputs: Pick<OutputsArea, 'source'>;
  },
): PublicHttpArea {
  const { access, auth, observability, ingest, passes, outputs } = areas;
  const { admission } = access;
  const { metrics } = observability;
  const { trustedProxies } = runtime;
  const hlsViewers = new HlsViewers(
    { admission, ...passes },
    { idleMs: runtime.ms.hlsViewerIdle, segmentPassMs: runtime.ms.segmentPass },
  );
  // The packager's memory for the streams it makes, files FFmpeg writes for the others.
  const { source } = outputs;
  const ws = ingest.ws;
  const http = buildHttpServer({
    log,
    tls: runtime.httpTls,
    headersTimeoutMs: runtime.ms.httpHeadersTimeout,
    upgrades: ws ? [(request, socket, head) => ws.handleUpgrade(request, socket, head)] : [],
    register: (app) => {
      registerStaticPages(app, { playerEmbedOrigins: config.http.playerEmbedOrigins });
      ws?.register(app);
      registerIngestKeyRoute(app, {
        authenticator: auth.authenticator,
        ingestKeys: auth.ingestKeys,
        admission,
        trustedProxies,
        rtmpServer: (appName) =>
          `rtmp://${config.banner.publicHost}:${config.rtmp.port}/${appName}`,
        limits: {
          perAddress: new RateLimiter({
            limit: config.auth.ingestKeys.perAddressPerMinute,
            windowMs: 60_000,
          }),
          perSubject: new RateLimiter({
            limit: config.auth.ingestKeys.perSubjectPerMinute,
            windowMs: 60_000,
          }),
        },
      });
      registerHlsRoutes(app, {
        admission,
        metrics,
        source,
        viewers: hlsViewers,
        corsOrigins: config.http.corsOrigins,
        trustedProxies,
        cdnParams: passes.cdnTokens?.params,
        compressPlaylists: config.hls.compressPlaylists,
        edgeCacheSec:
          config.hls.passes.edgeCacheSec ??
          Math.ceil((config.hls.playlistSize + 2) * config.hls.segmentSec),
      });
    },
  });
  const listener: Component = {
    name: 'http',
    start: () => listenAs('http', runtime.listen.http, (target) => listenFastify(http, target)),
    stop: async () => {
      await closeGracefully(http);
      source.close();
    },
  };
  const viewers: Component = { name: 'hls viewers', stop: () => hlsViewers.close() };
  return { http, hlsViewers, components: [viewers, listener] };
}

export function addressOf(server: FastifyInstance): AddressInfo {
  return server.server.address() as AddressInfo;
}

/** `host:port` of each address, for the log. */
export function where(addresses: Record<string, AddressInfo | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, a] of Object.entries(addresses)) if (a) out[name] = `${a.address}:${a.port}`;
  return out;
}
