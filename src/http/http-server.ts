import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { StagedoorError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { redactText } from '../log/redact.js';
import { frameworkError, installErrorHandlers } from './error-handler.js';

export interface HttpServerDeps {
  log: Logger;
  /** Time a client has to send its request headers. */
  headersTimeoutMs?: number;
  /** PEM certificate chain and key: HTTPS and WSS. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** Routes of the features that live on the public port (HLS delivery …). */
  register?: (app: FastifyInstance) => void;
  /** WebSocket upgrade handlers; each returns true when it took the request. */
  upgrades?: Array<(request: IncomingMessage, socket: Duplex, head: Buffer) => boolean>;
}

/**
 * The public HTTP port. It answers every path, including malformed ones, with JSON and a code;
 * WebSocket upgrades to unknown paths get a plain 404 instead of reaching any handler that
 * could throw (node-media-server's HTTP server dies on `/live/a%20b.flv`).
 */
export function buildHttpServer({
  log,
  tls,
  headersTimeoutMs = 10_000,
  register,
  upgrades = [],
}: HttpServerDeps): FastifyInstance {
  const app = Fastify({
    // Slow clients: headers must arrive within headersTimeoutMs, checked every second (Node's default is 30 s).
    ...(tls
      ? {
          https: {
            cert: tls.cert,
            key: tls.key,
            headersTimeout: headersTimeoutMs,
            connectionsCheckingInterval: 1000,
            maxHeaderSize: 16 * 1024,
          },
        }
      : {}),
    loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger,
    // Request lines are logged by our own hook with the token redacted from the URL.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    routerOptions: { maxParamLength: 256 },
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    http: {
      headersTimeout: headersTimeoutMs,
      connectionsCheckingInterval: 1000,
      maxHeaderSize: 16 * 1024,
    },
    return503OnClosing: true,
    frameworkErrors: frameworkError,
  });

  // A callback hook, not an async one: no promise per request on the hot path.
  app.addHook('onResponse', (request, reply, done) => {
    if (request.log.level !== 'debug' && request.log.level !== 'trace') return done(); // hot path: no regex or object per request
    request.log.debug(
      {
        method: request.method,
        url: redactText(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'http request',
    );
    done();
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  register?.(app);

  installErrorHandlers(app);

  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      for (const handle of upgrades) if (handle(request, socket, head)) return;
    } catch (error) {
      log.error({ err: error }, 'websocket upgrade handler failed');
      socket.destroy();
      return;
    }
    log.debug(
      { component: 'http', url: redactText(request.url ?? '') },
      'websocket upgrade to an unknown path refused',
    );
    const body = JSON.stringify(new StagedoorError('NOT_FOUND').toJSON());
    socket.on('error', () => socket.destroy());
    socket.end(
      `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  return app as unknown as FastifyInstance;
}
