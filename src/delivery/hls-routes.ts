import { httpRequestUrl } from '../net/request-url.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { StagedoorError } from '../errors.js';
import { checkStreamPath } from '../core/stream-path.js';
import type { BlockList } from 'node:net';
import { clientAddress } from '../net/client-address.js';
import { requestOrigin } from '../auth/access-rules.js';
import type { HlsAdmission, HlsViewers } from './hls-viewers.js';
import { mediaKindOf } from '../core/media-layout.js';
import { renderPlaylist } from './playlist-template.js';
import { parseRange } from './byte-range.js';
import { chooseEncoding, compressBody } from '../net/content-encoding.js';
import { tokenFromRequest } from '../auth/extract-token.js';
import type { MediaSource } from './media-source.js';
import type { Admission } from '../access/admission.js';
import type { Metrics } from '../observability/metrics.js';

export interface HlsRoutesDeps {
  /** Audits refusals, as for every protocol. */
  admission: Pick<Admission, 'refused'>;
  metrics?: Metrics | undefined;
  /** Where the streams' playlists, segments and keys are read. */
  source: MediaSource;
  viewers: HlsViewers;
  corsOrigins: readonly string[];
  trustedProxies: BlockList | undefined;
  /**
   * How long an edge may cache a segment fetched on a segment pass (it verifies every request's
   * pass itself); browsers and unknown caches are told `private`.
   */
  edgeCacheSec: number;
  /** Query parameters a CDN's token occupies beside a viewer pass (`hls.passes.cdn`): not credentials. */
  cdnParams?: readonly string[] | undefined;
  /** Compress playlists of `COMPRESS_FROM_BYTES` or more for players that accept it (`hls.compressPlaylists`). */
  compressPlaylists?: boolean | undefined;
}

/** Below this a playlist is sent as it is: compressing would save less than the headers it adds. */
const COMPRESS_FROM_BYTES = 1024;

const CONTENT_TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  key: 'application/octet-stream',
};

const PART_FILE = /_p\d+\.m4s$/;
const INTEGER = /^\d{1,15}$/;

/** The LL-HLS query of a media playlist request (RFC 8216bis §6.2.5): `_HLS_msn`, `_HLS_part`, `_HLS_skip`. */
export function blockingRequest(query: Record<string, string | string[]>): {
  at?: { msn: number; part?: number | undefined };
  skip?: boolean;
} {
  const one = (name: string): string | undefined => {
    const value = query[name];
    if (Array.isArray(value))
      throw new StagedoorError('HLS_REQUEST_INVALID', `${name} is given more than once`);
    return value;
  };
  const msn = one('_HLS_msn');
  const part = one('_HLS_part');
  const skip = one('_HLS_skip');
  for (const [name, value] of [
    ['_HLS_msn', msn],
    ['_HLS_part', part],
  ] as const)
    if (value !== undefined && !INTEGER.test(value))
      throw new StagedoorError('HLS_REQUEST_INVALID', `${name} must be a non-negative integer`);
  if (part !== undefined && msn === undefined)
    throw new StagedoorError('HLS_REQUEST_INVALID', '_HLS_part is only allowed with _HLS_msn');
  if (skip !== undefined && skip !== 'YES' && skip !== 'v2')
    throw new StagedoorError('HLS_REQUEST_INVALID', '_HLS_skip must be YES or v2');
  return {
    at:
      msn === undefined
        ? undefined
        : { msn: Number(msn), part: part === undefined ? undefined : Number(part) },
    skip: skip !== undefined,
  };
}

/**
 * Runs a read that may wait (a blocking reload, a preload hint) as one of the viewer's held
 * requests: it ends with the viewer's refusal the moment the viewer is cut, or quietly when the
 * player goes away.
 */
async function held<T>(
  admission: HlsAdmission,
  request: FastifyRequest,
  reply: FastifyReply,
  read: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const hold = admission.hold();
  request.log.debug({ event: 'hls_request_held' }, 'request held until its part exists');
  const gone = new AbortController();
  const onClose = () => {
    if (!reply.sent) gone.abort(new StagedoorError('NOT_FOUND', 'the client went away'));
  };
  reply.raw.once('close', onClose);
  // The player may have gone while it was being admitted: its close has been and gone.
  if (request.raw.socket?.destroyed || reply.raw.destroyed) onClose();
  try {
    return await read(AbortSignal.any([hold.signal, gone.signal]));
  } finally {
    reply.raw.off('close', onClose);
    hold.release();
  }
}

/** Registers `GET /<app>/<stream>/<file>`: every playlist, segment and key request is authorised. */
export function registerHlsRoutes(app: FastifyInstance, deps: HlsRoutesDeps): void {
  const allowAny = deps.corsOrigins.includes('*');
  // With a list of origins the answer depends on the request's Origin, so every answer says so
  // (Vary), with or without an Origin: a cache that kept a copy fetched without one (ffmpeg, VLC)
  // must not hand it to a browser of an allowed origin.
  const cors = (request: FastifyRequest, reply: FastifyReply): void => {
    const origin = request.headers.origin;
    if (allowAny) reply.header('access-control-allow-origin', '*');
    else {
      reply.header('vary', 'Origin');
      if (origin && deps.corsOrigins.includes(origin))
        reply.header('access-control-allow-origin', origin);
    }
    reply.header('access-control-expose-headers', 'Content-Length, Content-Range');
  };

  // A playlist is made for its viewer on every reload, so it is compressed here, per response, when
  // the player accepts it; the answer depends on Accept-Encoding whether or not it was compressed.
  // Sent as text when not compressed: turning it into a Buffer first costs more than the send.
  const encodedPlaylist = (
    text: string,
    request: FastifyRequest,
    reply: FastifyReply,
  ): string | Buffer => {
    if (!deps.compressPlaylists) return text;
    reply.header(
      'vary',
      reply.hasHeader('vary') ? `${reply.getHeader('vary')}, Accept-Encoding` : 'Accept-Encoding',
    );
    // Playlists are ASCII: their length is their size in bytes.
    if (text.length < COMPRESS_FROM_BYTES) return text;
    const encoding = chooseEncoding(request.headers['accept-encoding']);
    if (!encoding) return text;
    const compressed = compressBody(text, encoding);
    reply.header('content-encoding', encoding); // only once there is a compressed body to label
    return compressed;
  };

  app.options('/:app/:stream/:file', async (request, reply) => {
    cors(request, reply);
    return reply
      .code(204)
      .header('access-control-allow-methods', 'GET, HEAD, OPTIONS')
      .header('access-control-allow-headers', 'Authorization, Range')
      .header('access-control-max-age', '600')
      .send();
  });

  const timed = deps.metrics?.hlsRequestDuration;
  app.get<{
    Params: { app: string; stream: string; file: string };
    Querystring: Record<string, string | string[]>;
  }>(
    '/:app/:stream/:file',
    {
      onResponse: timed
        ? (request, reply, done) => {
            const kind = mediaKindOf(request.params.file);
            if (kind) timed.observe({ kind }, reply.elapsedTime / 1000);
            done();
          }
        : undefined,
    },
    async (request, reply) => {
      cors(request, reply);
      reply.header('cache-control', 'no-store');
      const { app: appName, stream: streamName, file } = request.params;
      const kind = mediaKindOf(file);
      if (!kind) throw new StagedoorError('NOT_FOUND');
      let stream;
      try {
        stream = checkStreamPath(appName, streamName);
      } catch {
        throw new StagedoorError('NOT_FOUND');
      }
      const vs = request.query.vs;
      const address = clientAddress(
        request.socket.remoteAddress,
        request.headers['x-forwarded-for'],
        deps.trustedProxies,
      );
      let admission;
      const started = performance.now();
      const admitted = (outcome: 'admitted' | 'refused'): void =>
        deps.metrics?.admissionDuration.observe(
          { protocol: 'hls', action: 'play', outcome },
          (performance.now() - started) / 1000,
        );
      try {
        admission = await deps.viewers.admit({
          stream,
          address,
          kind,
          pass: typeof vs === 'string' ? vs : undefined,
          token: tokenFromRequest({
            // Beside a pass, a CDN's own token is the CDN's (Bunny's `token=`), not a viewer's JWT.
            query:
              typeof vs === 'string'
                ? withoutCdnParams(request.query, deps.cdnParams)
                : request.query,
            authorization: request.headers.authorization,
            cookie: request.headers.cookie,
          }),
          origin: requestOrigin(request.headers),
          url: httpRequestUrl(request.raw, deps.trustedProxies),
        });
      } catch (error) {
        const applicant = {
          protocol: 'hls',
          action: 'play',
          app: appName,
          name: streamName,
          address,
          extra: { file: kind },
        } as const;
        const coded = deps.admission.refused(applicant, error, stream);
        admitted('refused');
        deps.metrics?.hlsRequests.inc({ kind, status: String(coded.httpStatus) });
        throw coded;
      }
      admitted('admitted');
      deps.metrics?.hlsRequests.inc({ kind, status: '200' });
      const ext = file.slice(file.lastIndexOf('.') + 1);
      reply.header('content-type', CONTENT_TYPES[ext] ?? 'application/octet-stream');

      const session = admission.session;
      if (kind === 'playlist') {
        const blocking = file === 'index.m3u8' ? {} : blockingRequest(request.query);
        const template = blocking.at
          ? await held(admission, request, reply, (signal) =>
              deps.source.playlist(stream, file, { ...blocking, signal }),
            )
          : await deps.source.playlist(stream, file, blocking);
        const body = encodedPlaylist(renderPlaylist(template, admission.passes), request, reply);
        if (session)
          session.bytesOut +=
            request.method === 'HEAD'
              ? 0
              : typeof body === 'string'
                ? Buffer.byteLength(body)
                : body.length;
        // A CDN in cookie mode checks these on the segments and parts this playlist names.
        const cookies = admission.passes.cookies;
        if (cookies && cookies.length > 0) reply.header('set-cookie', cookies);
        return reply.header('cache-control', 'private, no-cache').send(body);
      }

      // A part may be the one a preload hint names: held until it exists.
      const bytes = PART_FILE.test(file)
        ? await held(admission, request, reply, (signal) => deps.source.media(stream, file, signal))
        : await deps.source.media(stream, file);
      const size = bytes.length;
      reply
        .header('accept-ranges', 'bytes')
        .header('cache-control', kind === 'key' ? 'private, no-store' : 'private, max-age=60');
      if (kind === 'segment' && deps.edgeCacheSec > 0) {
        // For an edge that checks passes (deploy/nginx-edge): cache by path, for all its viewers.
        reply
          .header('x-accel-expires', deps.edgeCacheSec)
          .header('cdn-cache-control', `max-age=${deps.edgeCacheSec}`);
      }
      const range = parseRange(request.headers.range, size);
      if (range.kind === 'unsatisfiable') {
        return reply.code(416).header('content-range', `bytes */${size}`).send();
      }
      const start = range.kind === 'partial' ? range.start : 0;
      const end = range.kind === 'partial' ? range.end : size - 1;
      const length = size === 0 ? 0 : end - start + 1;
      if (range.kind === 'partial')
        reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`);
      reply.header('content-length', length);
      if (session) session.bytesOut += request.method === 'HEAD' ? 0 : length;
      if (length === 0) return reply.send();
      // HEAD: fastify takes Content-Length from the payload and sends no body.
      const body = Buffer.isBuffer(bytes)
        ? bytes
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return reply.send(range.kind === 'partial' ? body.subarray(start, end + 1) : body);
    },
  );
}

function withoutCdnParams(
  query: Record<string, unknown>,
  params: readonly string[] | undefined,
): Record<string, unknown> {
  if (!params?.length) return query;
  const rest = { ...query };
  for (const name of params) delete rest[name];
  return rest;
}
