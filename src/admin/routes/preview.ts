import type { FastifyInstance } from 'fastify';
import { StagedoorError } from '../../errors.js';
import { checkStreamPath } from '../../core/stream-path.js';
import { mediaKindOf } from '../../core/media-layout.js';
import type { MediaSource } from '../../delivery/media-source.js';
import { renderWithoutPasses } from '../../delivery/playlist-template.js';
import { blockingRequest } from '../../delivery/hls-routes.js';
import { bearer, errorSchema } from '../schemas.js';

const CONTENT_TYPES: Record<string, string> = {
  playlist: 'application/vnd.apple.mpegurl',
  segment: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  key: 'application/octet-stream',
};

/**
 * A stream's HLS as delivery reads it (the packager's memory or FFmpeg's files), for the dashboard's preview: an operator watches with
 * the admin credential (sent as a header by hls.js), on the admin origin, without a viewer token and
 * without counting as a viewer. Playlists name their files relatively, so they resolve here too.
 */
export function previewRoutes(app: FastifyInstance, deps: { source: MediaSource }): void {
  app.get<{
    Params: { app: string; stream: string; file: string };
    Querystring: Record<string, string | string[]>;
  }>(
    '/api/v1/streams/:app/:stream/hls/:file',
    {
      schema: {
        summary: "A live stream's HLS files for an operator's preview (not a viewer session)",
        security: bearer,
        params: {
          type: 'object',
          properties: {
            app: { type: 'string' },
            stream: { type: 'string' },
            file: { type: 'string' },
          },
          required: ['app', 'stream', 'file'],
        },
        response: { 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { app: appName, stream, file } = request.params;
      const kind = mediaKindOf(file);
      if (!kind) throw new StagedoorError('NOT_FOUND');
      let path;
      try {
        path = checkStreamPath(appName, stream);
      } catch {
        throw new StagedoorError('NOT_FOUND');
      }
      // Playlists without passes: the preview's requests carry the admin credential instead.
      const bytes =
        kind === 'playlist'
          ? renderWithoutPasses(
              await deps.source.playlist(
                path,
                file,
                file === 'index.m3u8' ? {} : blockingRequest(request.query),
              ),
            )
          : Buffer.from(await deps.source.media(path, file));
      const ext = file.slice(file.lastIndexOf('.') + 1);
      return reply
        .header(
          'content-type',
          CONTENT_TYPES[ext] ?? CONTENT_TYPES[kind] ?? 'application/octet-stream',
        )
        .header('cache-control', 'no-store')
        .send(bytes);
    },
  );
}
