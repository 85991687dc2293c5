import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StagedoorError, toStagedoorError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { checkStreamPath } from '../../core/stream-path.js';
import { mediaKindOf } from '../../core/media-layout.js';
import type { MediaSource } from '../media-source.js';
import { renderWithoutPasses } from '../playlist-template.js';
import { blockingRequest } from '../hls-routes.js';
import type { HopSigner } from './hop-signature.js';

/** The internal path of a stream's file: `/internal/v1/media/<app>/<stream>/<file>`. */
export const HOP_PREFIX = '/internal/v1/media/';

export interface InternalMediaServerDeps {
  /** This node's own media (never the cluster's: a hop never hops again). */
  source: MediaSource;
  signer: HopSigner;
  log: Logger;
}

/**
 * The owner's side of the media hop: another node's signed request for a playlist (blocking
 * reloads included), segment, part or key of a stream published here, answered from this node's
 * media. Playlists go without passes (the asking node puts its viewer's in); nothing here
 * authorises a viewer: the asking node did, and the signature says it is one of ours.
 */
export class InternalMediaServer {
  readonly #deps: InternalMediaServerDeps;
  readonly #server: Server;

  constructor(deps: InternalMediaServerDeps) {
    this.#deps = deps;
    this.#server = createServer((request, response) => void this.#handle(request, response));
    this.#server.keepAliveTimeout = 65_000;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return this.#server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const gone = new AbortController();
    response.once('close', () => {
      if (!response.writableEnded)
        gone.abort(new StagedoorError('NOT_FOUND', 'the node went away'));
    });
    try {
      const url = request.url ?? '/';
      if (request.method !== 'GET') throw new StagedoorError('NOT_FOUND');
      const from = this.#deps.signer.verify('GET', url, request.headers);
      if (!from) throw new StagedoorError('NODE_CREDENTIAL_INVALID');
      this.#deps.log.debug({ event: 'hop_request', from, url }, 'media asked for by another node');
      const { pathname, searchParams } = new URL(url, 'http://node');
      if (!pathname.startsWith(HOP_PREFIX)) throw new StagedoorError('NOT_FOUND');
      const [app, name, file, ...rest] = pathname.slice(HOP_PREFIX.length).split('/');
      const kind = file === undefined ? undefined : mediaKindOf(file);
      if (!kind || rest.length > 0) throw new StagedoorError('NOT_FOUND');
      let stream;
      try {
        stream = checkStreamPath(app, name);
      } catch {
        throw new StagedoorError('NOT_FOUND');
      }
      if (kind === 'playlist') {
        const query: Record<string, string | string[]> = {};
        for (const [key, value] of searchParams) {
          const had = query[key];
          query[key] = had === undefined ? value : [...[had].flat(), value];
        }
        const blocking = file === 'index.m3u8' ? {} : blockingRequest(query);
        const template = await this.#deps.source.playlist(stream, file!, {
          ...blocking,
          signal: gone.signal,
        });
        const body = renderWithoutPasses(template);
        response.writeHead(200, {
          'content-type': 'application/vnd.apple.mpegurl',
          'content-length': Buffer.byteLength(body),
        });
        response.end(body);
        return;
      }
      const bytes = await this.#deps.source.media(stream, file!, gone.signal);
      response.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': bytes.byteLength,
      });
      response.end(bytes);
    } catch (error) {
      const coded = toStagedoorError(error);
      if (coded.code === 'NODE_CREDENTIAL_INVALID')
        this.#deps.log.warn(
          { event: 'hop_refused', address: request.socket.remoteAddress, url: request.url },
          'refused an unsigned request on the internal listener',
        );
      if (coded.code === 'INTERNAL_ERROR')
        this.#deps.log.error({ err: error, url: request.url }, 'internal media request failed');
      if (response.headersSent || response.destroyed) {
        response.destroy();
        return;
      }
      const body = JSON.stringify(coded.toJSON());
      response.writeHead(coded.httpStatus, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      response.end(body);
    }
  }
}
