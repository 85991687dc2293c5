import type { FastifyInstance } from 'fastify';
import { StagedoorError } from '../../errors.js';
import type { SessionDirectory } from '../../sessions/session-directory.js';
import type { Audit } from '../../observability/audit.js';
import { bearer, errorSchema, nodeStatusSchema, sessionSchema } from '../schemas.js';
import { actorLabel } from '../admin-auth.js';

/** List, inspect and kick sessions. */
export function sessionRoutes(
  app: FastifyInstance,
  deps: { directory: SessionDirectory; audit: Audit },
): void {
  app.get<{
    Querystring: {
      stream?: string;
      kind?: string;
      protocol?: string;
      subject?: string;
      node?: string;
    };
  }>(
    '/api/v1/sessions',
    {
      schema: {
        summary:
          'Live sessions (publishers and viewers of every protocol) on every node, and which nodes answered',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            stream: { type: 'string' },
            kind: { type: 'string', enum: ['publisher', 'viewer'] },
            protocol: { type: 'string', enum: ['rtmp', 'ws', 'hls'] },
            subject: { type: 'string' },
            node: { type: 'string' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              sessions: { type: 'array', items: sessionSchema },
              nodes: { type: 'array', items: nodeStatusSchema },
            },
            required: ['sessions', 'nodes'],
          },
        },
      },
    },
    async (request) => {
      const { stream, kind, protocol, subject, node } = request.query;
      const listing = await deps.directory.list();
      const sessions = listing.items.filter(
        (s) =>
          (stream === undefined || s.stream === stream) &&
          (kind === undefined || s.kind === kind) &&
          (protocol === undefined || s.protocol === protocol) &&
          (subject === undefined || s.subject === subject) &&
          (node === undefined || s.node === node),
      );
      return { sessions, nodes: listing.nodes };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/sessions/:id',
    {
      schema: {
        summary: 'One session, on whichever node holds it',
        security: bearer,
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: { 200: sessionSchema, 404: errorSchema, 503: errorSchema },
      },
    },
    async (request) => {
      const session = await deps.directory.get(request.params.id);
      if (!session) throw new StagedoorError('NOT_FOUND', 'no live session with this id');
      return session;
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/sessions/:id',
    {
      schema: {
        summary:
          'Kick a session on whichever node holds it: answered once its connection is closed (reason "kicked"); 503 when its node cannot be reached',
        security: bearer,
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: {
          200: { type: 'object', properties: { kicked: sessionSchema }, required: ['kicked'] },
          404: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const kicked = await deps.directory.kick(request.params.id);
      if (!kicked) throw new StagedoorError('NOT_FOUND', 'no live session with this id');
      deps.audit.kick(kicked.id, actorLabel(request.adminActor), kicked);
      return { kicked };
    },
  );
}
