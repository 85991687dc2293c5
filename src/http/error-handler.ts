import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { StagedoorError, toStagedoorError } from '../errors.js';
import { requestError } from './request-error.js';

/**
 * Every error leaves as JSON with a stable code: ours as they are; fastify's refusals of a request's
 * input as REQUEST_INVALID (or REQUEST_TOO_LARGE) naming the field; its 404s as NOT_FOUND.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler(async (_request, reply) => {
    const error = new StagedoorError('NOT_FOUND');
    return reply.code(error.httpStatus).send(error.toJSON());
  });
  app.setErrorHandler(async (error, request, reply) => {
    const statusCode = (error as { statusCode?: number }).statusCode;
    const coded =
      error instanceof StagedoorError
        ? error
        : statusCode === 404
          ? new StagedoorError('NOT_FOUND', (error as Error).message, { cause: error })
          : requestError(error, {
              contentType: request.headers['content-type'],
              bodyLimit: request.routeOptions.bodyLimit,
            });
    if (coded) {
      if (coded.retryAfterSec !== undefined) reply.header('retry-after', coded.retryAfterSec);
      return reply.code(coded.httpStatus).send(coded.toJSON());
    }
    request.log.error({ err: error }, 'http handler failed');
    return reply.code(500).send(new StagedoorError('INTERNAL_ERROR').toJSON());
  });
}

/**
 * Fastify's `frameworkErrors`: a URL it cannot even route (a bad %-escape, a path part over the
 * limit) answered as every other error, instead of in fastify's own JSON.
 */
export function frameworkError(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const coded =
    requestError(error, { contentType: undefined, bodyLimit: undefined }) ??
    toStagedoorError(error);
  void reply.code(coded.httpStatus).send(coded.toJSON());
}
