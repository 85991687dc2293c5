import { httpRequestUrl } from '../../net/request-url.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import { StagedoorError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { redactText } from '../../log/redact.js';
import { formatStreamPath } from '../../core/stream-path.js';
import type { BlockList } from 'node:net';
import { clientAddress } from '../../net/client-address.js';
import { requestOrigin } from '../../auth/access-rules.js';
import { clientCredentials } from '../../auth/extract-token.js';
import { WsPublisher } from './ws-publisher.js';
import type { Admission, Applicant, Opened } from '../../access/admission.js';

export interface WsIngestDeps {
  admission: Admission;
  log: Logger;
  allowedOrigins: readonly string[];
  maxMessageBytes: number;
  maxBufferedBytes: number;
  maxAheadMs: number;
  trustedProxies: BlockList | undefined;
}

const WS_PATH = /^\/ws\/([^/?#]+)\/([^/?#]+)$/;

interface WsClient {
  applicant: Applicant;
  /** The upgrade's Origin (else Referer origin): a token refresh is checked against it too. */
  origin: string | undefined;
  formatHint: string | undefined;
}

/**
 * `/ws/<app>/<stream>` on the HTTP port. The token (query `token`/`jwt`, or `Authorization: Bearer`
 * for non-browser clients; never a cookie, which a foreign page could ride on) is checked before the
 * upgrade: a refused client gets a plain HTTP 401/403/409 with the reason code and no WebSocket.
 * A plain GET on the same path answers the same admission question without publishing.
 */
export class WsIngest {
  readonly #wss: WebSocketServer;
  readonly #deps: WsIngestDeps;
  readonly #publishers = new Set<WsPublisher>();

  constructor(deps: WsIngestDeps) {
    this.#deps = deps;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: deps.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** Handles an HTTP upgrade if it is for a WebSocket publish path; returns false otherwise. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (request.url ?? '').split('?')[0]!;
    const match = WS_PATH.exec(path);
    if (!match) return false;
    socket.on('error', () => socket.destroy());
    void this.#upgrade(request, socket, head, match);
    return true;
  }

  /** `GET /ws/:app/:stream?token=…` without an upgrade: would this publish be admitted? */
  register(app: FastifyInstance): void {
    app.get<{ Params: { app: string; stream: string } }>(
      '/ws/:app/:stream',
      async (request, reply) => {
        const client = this.#applicant(
          request.raw,
          [request.params.app, request.params.stream],
          false,
        );
        const admission = await this.#deps.admission.check(client.applicant);
        return reply.header('cache-control', 'no-store').send({
          ok: true,
          stream: formatStreamPath(admission.stream),
          subject: admission.grant.subject,
          expiresAt:
            admission.grant.expiresAt === undefined
              ? undefined
              : new Date(admission.grant.expiresAt).toISOString(),
        });
      },
    );
  }

  closeAll(): void {
    this.#wss.close();
  }

  async #upgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    match: RegExpExecArray,
  ): Promise<void> {
    const client = this.#applicant(request, [decode(match[1]!), decode(match[2]!)], true);
    let opened: Opened | undefined;
    let publisher: WsPublisher | undefined;
    try {
      // Before the upgrade, so that a refusal is still an HTTP answer: the stream leased, a
      // single-use token used up, the session open and the stream held.
      opened = await this.#deps.admission.admit(client.applicant, {
        gone: () => socket.destroyed,
        terminate: (reason) => publisher?.end(reason),
      });
      if (!opened) return;
      if (opened.session.closed) throw new StagedoorError('TOKEN_EXPIRED');
    } catch (error) {
      refuseUpgrade(socket, error as StagedoorError); // refused and audited by admission
      return;
    }
    const { session, stream } = opened;
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      const live = new WsPublisher(
        ws,
        { session, stream: stream!, origin: client.origin, formatHint: client.formatHint },
        {
          admission: this.#deps.admission,
          log: this.#deps.log,
          limits: {
            maxBufferedBytes: this.#deps.maxBufferedBytes,
            maxAheadMs: this.#deps.maxAheadMs,
            maxTagBytes: this.#deps.maxMessageBytes,
          },
        },
      );
      publisher = live;
      this.#publishers.add(live);
      ws.once('close', () => this.#publishers.delete(live));
    });
    // The handshake failed (the client went away): the session it would have had ends now.
    if (!publisher) session.close('client-closed');
  }

  /** Who asks to publish, from the upgrade (or preflight) request. */
  #applicant(
    request: IncomingMessage,
    [app, name]: [string, string],
    upgrading: boolean,
  ): WsClient {
    const url = new URL(request.url ?? '/', 'http://stagedoor.invalid');
    const address = clientAddress(
      request.socket.remoteAddress,
      request.headers['x-forwarded-for'],
      this.#deps.trustedProxies,
    );
    const origin = requestOrigin(request.headers);
    const allowed = this.#deps.allowedOrigins;
    const applicant: Applicant = {
      protocol: 'ws',
      action: 'publish',
      app,
      name,
      address,
      origin,
      // The preflight stands for the upgrade it precedes: both are matched as the ws(s) URL.
      url: httpRequestUrl(request, this.#deps.trustedProxies, true),
      gate: () => {
        if (allowed.includes('*') || (origin !== undefined && allowed.includes(origin))) return;
        throw new StagedoorError(
          'ORIGIN_DENIED',
          origin === undefined ? 'an Origin header is required' : 'this origin may not publish',
        );
      },
      credentials: () => clientCredentials(url.searchParams, request.headers.authorization),
      extra: { preflight: !upgrading },
    };
    return { applicant, origin, formatHint: url.searchParams.get('format') ?? undefined };
  }
}

/** A percent-encoded path part; a broken escape is an invalid name, refused like one. */
function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function refuseUpgrade(socket: Duplex, error: StagedoorError): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(error.toJSON());
  const statusText: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    409: 'Conflict',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  };
  socket.end(
    `HTTP/1.1 ${error.httpStatus} ${statusText[error.httpStatus] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${redactText(body)}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}
