import type { FastifyInstance } from 'fastify';
import { StagedoorError } from '../../errors.js';
import type { RevocationList } from '../../auth/revocations.js';
import { bearer, errorSchema, revocationSchema } from '../schemas.js';

/** The denylist: list, add (cuts matching live sessions at once), remove. */
export function revocationRoutes(
  app: FastifyInstance,
  deps: { revocations: RevocationList },
): void {
  app.get(
    '/api/v1/revocations',
    {
      schema: {
        summary: 'Active revocations',
        security: bearer,
        response: {
          200: {
            type: 'object',
            properties: { revocations: { type: 'array', items: revocationSchema } },
          },
        },
      },
    },
    async () => ({ revocations: deps.revocations.list() }),
  );

  app.post<{
    Body: { type: string; value: string; until?: string; for?: string; reason?: string };
  }>(
    '/api/v1/revocations',
    {
      schema: {
        summary:
          'Revoke a token (jti) or a subject (sub) until a time or for a while; matching sessions end now',
        security: bearer,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['type', 'value'],
          properties: {
            type: { type: 'string', enum: ['jti', 'sub'] },
            value: { type: 'string', minLength: 1, maxLength: 256 },
            until: {
              type: 'string',
              format: 'date-time',
              description:
                'When the entry ends (at most 366 days from now: a later time is brought back)',
            },
            for: {
              type: 'string',
              maxLength: 32,
              description:
                'Instead of until: how long from now, as 30s, 15m, 24h or 7d (at most 366d); neither means 24h',
            },
            reason: { type: 'string', maxLength: 500 },
          },
        },
        response: { 201: revocationSchema, 400: errorSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await deps.revocations.add(request.body)),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/revocations/:id',
    {
      schema: {
        summary: 'Lift a revocation',
        security: bearer,
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: { 204: { type: 'null' }, 404: errorSchema },
      },
    },
    async (request, reply) => {
      if (!(await deps.revocations.remove(request.params.id)))
        throw new StagedoorError('NOT_FOUND', 'no revocation with this id');
      return reply.code(204).send();
    },
  );
}
