import { httpRequestUrl } from '../net/request-url.js';
import type { BlockList } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { StagedoorError } from '../errors.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { IngestKeys } from '../auth/ingest-keys.js';
import { checkStreamPath, type StreamPath } from '../core/stream-path.js';
import { requestOrigin } from '../auth/access-rules.js';
import { clientAddress } from '../net/client-address.js';
import type { Admission } from '../access/admission.js';
import type { RateLimiter } from '../core/rate-limiter.js';

export interface IngestKeyRouteDeps {
  authenticator: Authenticator;
  ingestKeys: IngestKeys;
  /** Audits refusals, as for every protocol. */
  admission: Pick<Admission, 'refused'>;
  trustedProxies: BlockList | undefined;
  /** The RTMP server URL a publisher of this app enters in OBS (`rtmp://host:1935/live`). */
  rtmpServer: (app: string) => string;
  /** Exchanges allowed per client address (before the token is checked) and per subject (after). */
  limits: { perAddress: RateLimiter; perSubject: RateLimiter };
}

function assertWithin(limiter: RateLimiter, key: string, what: string): void {
  const waitMs = limiter.take(key);
  if (waitMs !== undefined)
    throw new StagedoorError('RATE_LIMITED', `too many ingest key exchanges ${what}`, {
      retryAfterSec: waitMs / 1000,
    });
}

/**
 * `POST /ingest-keys/:app/:stream` with `Authorization: Bearer <publish token>`: exchanges a token
 * (often an identity provider's access token, too long for an RTMP URL) for a short ingest key that
 * OBS and FFmpeg can carry in a stream key. The token is checked exactly as a publish would check it;
 * the same token and stream get the same key again; exchanges are rate-limited per address and subject.
 */
export function registerIngestKeyRoute(app: FastifyInstance, deps: IngestKeyRouteDeps): void {
  app.post<{ Params: { app: string; stream: string } }>(
    '/ingest-keys/:app/:stream',
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const address = clientAddress(
        request.socket.remoteAddress,
        request.headers['x-forwarded-for'],
        deps.trustedProxies,
      );
      let stream: StreamPath | undefined;
      try {
        assertWithin(deps.limits.perAddress, address, 'from this address');
        stream = checkStreamPath(request.params.app, request.params.stream);
        const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
        if (!match)
          throw new StagedoorError(
            'TOKEN_MISSING',
            'send the publish token as Authorization: Bearer <JWT>',
          );
        const token = match[1]!;
        const grant = await deps.authenticator.authenticate({
          token,
          action: 'publish',
          protocol: 'http',
          stream,
          address,
          origin: requestOrigin(request.headers),
          url: httpRequestUrl(request.raw, deps.trustedProxies),
        });
        assertWithin(deps.limits.perSubject, grant.subject ?? grant.tokenId, 'for this subject');
        if (grant.expiresAt === undefined)
          throw new StagedoorError(
            'CLAIM_INVALID',
            'an ingest key lasts as long as its token: the token needs exp',
            { claim: 'exp' },
          );
        const key = await deps.ingestKeys.issue(token, grant.tokenId, stream, grant.expiresAt);
        return reply.code(201).send({
          stream: `${stream.app}/${stream.name}`,
          key,
          server: deps.rtmpServer(stream.app),
          streamKey: `${stream.name}?key=${key}`,
          expiresAt: new Date(grant.expiresAt).toISOString(),
        });
      } catch (error) {
        const applicant = {
          protocol: 'http',
          action: 'publish',
          app: request.params.app,
          name: request.params.stream,
          address,
          extra: { exchange: 'ingest-key' },
        } as const;
        throw deps.admission.refused(applicant, error, stream);
      }
    },
  );
}
