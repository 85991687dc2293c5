import { httpRequestUrl } from '../net/request-url.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from '../log/logger.js';
import { redactText } from '../log/redact.js';
import { toStagedoorError } from '../errors.js';
import type { Config } from '../config/schema.js';
import { frameworkError, installErrorHandlers } from '../http/error-handler.js';
import { normalizeAddress } from '../net/address.js';
import { requestOrigin } from '../auth/access-rules.js';
import type { SessionDirectory } from '../sessions/session-directory.js';
import type { StreamView } from './views/stream-views.js';
import type { RevocationList } from '../auth/revocations.js';
import type { StreamHub } from '../media/stream-hub.js';
import type { OutputManager } from '../outputs/output-manager.js';
import type { StreamSecurity } from '../auth/stream-security.js';
import type { IssuerStore } from '../auth/oidc/issuer-store.js';
import type { Audit, EventFeed } from '../observability/audit.js';
import type { Metrics } from '../observability/metrics.js';
import { actorLabel, type AdminAuth } from './admin-auth.js';
import { sessionRoutes } from './routes/sessions.js';
import { streamRoutes } from './routes/streams.js';
import { revocationRoutes } from './routes/revocations.js';
import { eventRoutes } from './routes/events.js';
import { previewRoutes } from './routes/preview.js';
import type { MediaSource } from '../delivery/media-source.js';
import { DASHBOARD_PATHS, dashboardRoutes } from './dashboard-assets.js';

export interface AdminDeps {
  log: Logger;
  auth: AdminAuth;
  audit: Audit;
  metrics: Metrics;
  /** Sessions and streams: this node's, or every node's in a cluster. */
  directory: SessionDirectory<StreamView>;
  /** The live feed: this node's events, or every node's. */
  events: EventFeed;
  revocations: RevocationList;
  hub: StreamHub;
  outputs: Pick<OutputManager, 'list' | 'get'> | undefined;
  security: StreamSecurity;
  issuers: IssuerStore;
  hls: Config['hls'];
  /** Where the streams' HLS is read (the dashboard's preview reads it). */
  source: MediaSource;
  /** Is the server up and listening on its public ports? */
  ready: () => boolean;
}

const PUBLIC_PATHS = new Set([
  ...DASHBOARD_PATHS,
  '/healthz',
  '/readyz',
  '/metrics',
  '/api/v1/openapi.json',
]);
/** The interactive API reference (swagger-ui), public like the dashboard's files. */
const API_DOCS = '/api/docs';
/** Preview media: a request a second per preview, so not one `admin_call` line each. */
const PREVIEW_MEDIA = /^\/api\/v1\/streams\/[^/]+\/[^/]+\/hls\//;

/** The admin API (own port, loopback by default): sessions, streams, security, revocations, events, health, metrics. */
export async function buildAdminServer(deps: AdminDeps): Promise<FastifyInstance> {
  const log = deps.log.child({ component: 'admin' });
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 256 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    frameworkErrors: frameworkError,
  });
  installErrorHandlers(app);
  app.decorateRequest('adminActor', undefined);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Stagedoor admin API', version: '1' },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'An admin API key, or a JWT whose key or issuer grants admin',
          },
        },
      },
    },
  });

  // The interactive reference: swagger-ui's own files, served from this port (nothing from a CDN);
  // it holds no data, and its "try it out" calls carry the credential typed into it.
  await app.register(swaggerUi, { routePrefix: API_DOCS, staticCSP: true });

  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]!;
    if (PUBLIC_PATHS.has(path) || path === API_DOCS || path.startsWith(`${API_DOCS}/`)) return;
    try {
      request.adminActor = await deps.auth.authenticate({
        authorization: request.headers.authorization,
        address: normalizeAddress(request.socket.remoteAddress),
        origin: requestOrigin(request.headers),
        url: httpRequestUrl(request.raw, undefined), // the admin port has no trusted proxies
      });
    } catch (error) {
      const coded = toStagedoorError(error);
      deps.audit.refusal({
        protocol: 'http',
        action: 'admin',
        stream: undefined,
        address: request.ip,
        error: coded,
        extra: { method: request.method, url: redactText(request.url) },
      });
      throw coded;
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    if (!request.adminActor) return; // public paths, and refused calls (audited as refusals)
    if (request.method === 'GET' && reply.statusCode === 200 && PREVIEW_MEDIA.test(request.url))
      return;
    log.info(
      {
        event: 'admin_call',
        actor: actorLabel(request.adminActor),
        method: request.method,
        url: redactText(request.url),
        status: reply.statusCode,
      },
      'admin api call',
    );
  });

  app.get('/healthz', { schema: { summary: 'The process is up' } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    { schema: { summary: 'Listening, FFmpeg found, issuers reachable or cached' } },
    async (_request, reply) => {
      const issuers = deps.issuers
        .list()
        .map((i) => ({ issuer: i.issuer, keys: i.keys.keyCount, lastError: i.keys.lastError }));
      const checks = {
        listening: deps.ready(),
        ffmpeg: deps.hls.enabled ? deps.outputs !== undefined : 'disabled',
        issuers: issuers.every((i) => i.keys > 0),
      };
      const ok = checks.listening && checks.ffmpeg !== false && checks.issuers;
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ready' : 'not ready', checks, issuers });
    },
  );
  app.get('/metrics', { schema: { summary: 'Prometheus metrics' } }, async (_request, reply) =>
    reply
      .header('content-type', deps.metrics.registry.contentType)
      .send(await deps.metrics.registry.metrics()),
  );
  dashboardRoutes(app);
  sessionRoutes(app, deps);
  streamRoutes(app, deps);
  revocationRoutes(app, deps);
  eventRoutes(app, { events: deps.events });
  previewRoutes(app, deps);
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
