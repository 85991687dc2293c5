import type { FastifyInstance } from 'fastify';
import { StagedoorError } from '../errors.js';

/** Every error leaves as JSON with a stable code: ours as they are, fastify's (validation, 404) mapped. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler(async (_request, reply) => {
    const error = new StagedoorError('NOT_FOUND');
    return reply.code(error.httpStatus).send(error.toJSON());
  });
  app.setErrorHandler(async (error, request, reply) => {
    if (error instanceof StagedoorError) {
      if (error.retryAfterSec !== undefined) reply.header('retry-after', error.retryAfterSec);
      return reply.code(error.httpStatus).send(error.toJSON());
    }
    const statusCode = (error as { statusCode?: number }).statusCode;
    if (statusCode !== undefined && statusCode < 500) {
      return reply.code(statusCode).send({
        error: {
          code: statusCode === 404 ? 'NOT_FOUND' : 'PROTOCOL_ERROR',
          message: (error as Error).message,
        },
      });
    }
    request.log.error({ err: error }, 'http handler failed');
    return reply.code(500).send({ error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
  });
}
