import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { StagedoorError } from '../../errors.js';
import { resolveMediaFile } from '../../delivery/safe-path.js';
import { mediaKindOf } from '../../core/media-layout.js';
import { bearer, errorSchema } from '../schemas.js';

const CONTENT_TYPES: Record<string, string> = {
  playlist: 'application/vnd.apple.mpegurl',
  segment: 'video/mp2t',
  key: 'application/octet-stream',
};

/**
 * A stream's HLS files as FFmpeg wrote them, for the dashboard's preview: an operator watches with
 * the admin credential (sent as a header by hls.js), on the admin origin, without a viewer token and
 * without counting as a viewer. Playlists name their files relatively, so they resolve here too.
 */
export function previewRoutes(app: FastifyInstance, deps: { mediaDir: string }): void {
  app.get<{ Params: { app: string; stream: string; file: string } }>(
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
      const path = await resolveMediaFile(deps.mediaDir, appName, stream, file);
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (error) {
        throw new StagedoorError('NOT_FOUND', undefined, { cause: error });
      }
      return reply
        .header('content-type', CONTENT_TYPES[kind] ?? 'application/octet-stream')
        .header('cache-control', 'no-store')
        .send(bytes);
    },
  );
}
