import type { FastifyInstance } from 'fastify';
import { StagedoorError } from '../../errors.js';
import type { SessionDirectory } from '../../sessions/session-directory.js';
import type { Audit } from '../../observability/audit.js';
import { bearer, errorSchema, sessionSchema } from '../schemas.js';
import { actorLabel } from '../admin-auth.js';

/** List, inspect and kick sessions. */
export function sessionRoutes(
  app: FastifyInstance,
  deps: { directory: SessionDirectory; audit: Audit },
): void {
  app.get<{ Querystring: { stream?: string; kind?: string; protocol?: string; subject?: string } }>(
    '/api/v1/sessions',
    {
      schema: {
        summary: 'Live sessions (publishers and viewers of every protocol)',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            stream: { type: 'string' },
            kind: { type: 'string', enum: ['publisher', 'viewer'] },
            protocol: { type: 'string', enum: ['rtmp', 'ws', 'hls'] },
            subject: { type: 'string' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { sessions: { type: 'array', items: sessionSchema } },
            required: ['sessions'],
          },
        },
      },
    },
    async (request) => {
      const { stream, kind, protocol, subject } = request.query;
      const sessions = deps.directory
        .list()
        .filter(
          (s) =>
            (stream === undefined || s.stream === stream) &&
            (kind === undefined || s.kind === kind) &&
            (protocol === undefined || s.protocol === protocol) &&
            (subject === undefined || s.subject === subject),
        );
      return { sessions };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/sessions/:id',
    {
      schema: {
        summary: 'One session',
        security: bearer,
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: { 200: sessionSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const session = deps.directory.get(request.params.id);
      if (!session) throw new StagedoorError('NOT_FOUND', 'no live session with this id');
      return session;
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/sessions/:id',
    {
      schema: {
        summary: 'Kick a session: its connection is closed at once (reason "kicked")',
        security: bearer,
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: {
          200: { type: 'object', properties: { kicked: sessionSchema }, required: ['kicked'] },
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const snapshot = deps.directory.get(request.params.id);
      if (!snapshot) throw new StagedoorError('NOT_FOUND', 'no live session with this id');
      deps.audit.kick(snapshot.id, actorLabel(request.adminActor), snapshot);
      deps.directory.kick(snapshot.id);
      return { kicked: snapshot };
    },
  );
}
