import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/schema.js';
import type { StreamHub } from '../../media/stream-hub.js';
import type { SessionDirectory } from '../../sessions/session-directory.js';
import type { OutputManager } from '../../outputs/output-manager.js';
import type { StreamSecurity } from '../../auth/stream-security.js';
import { StagedoorError } from '../../errors.js';
import {
  bearer,
  errorSchema,
  nodeStatusSchema,
  securitySchema,
  sessionLimitsSchema,
  streamParams,
} from '../schemas.js';
import { countViewers, streamViewSchema } from '../views/stream-views.js';

/** Live streams, and each stream's security settings. */
export function streamRoutes(
  app: FastifyInstance,
  deps: {
    hub: StreamHub;
    directory: SessionDirectory;
    outputs: Pick<OutputManager, 'list' | 'get'> | undefined;
    security: StreamSecurity;
    hls: Config['hls'];
  },
): void {
  app.get(
    '/api/v1/streams',
    {
      schema: {
        summary: 'Live streams with their publisher, codecs, bitrate, renditions and viewers',
        security: bearer,
        response: {
          200: {
            type: 'object',
            properties: {
              streams: { type: 'array', items: streamViewSchema },
              nodes: { type: 'array', items: nodeStatusSchema },
            },
          },
        },
      },
    },
    async () => {
      // Each node describes its own streams; viewers are counted over every node's sessions.
      const [streams, sessions] = await Promise.all([
        deps.directory.streams(),
        deps.directory.list(),
      ]);
      return {
        streams: streams.items.map((view) => ({
          ...view,
          viewers: countViewers(view.stream, sessions.items),
        })),
        nodes: streams.nodes,
      };
    },
  );

  const describe = (app_: string, name: string) => {
    const rule = deps.security.ruleFor({ app: app_, name });
    const settings = deps.security.settingsFor({ app: app_, name });
    return {
      match: rule?.match ?? `${app_}/${name}`,
      source: rule?.source ?? 'default',
      publish: settings.publish,
      play: settings.play,
      requireExp: settings.requireExp,
      maxTokenLifetimeSec: settings.maxTokenLifetimeSec,
      maxSessionsPerSubject: settings.maxSessionsPerSubject,
      // Key material never leaves the server: ids and algorithms only.
      keys: settings.keys.map((k) => ({ kid: k.kid, alg: k.alg })),
      // A saved rule that could not be loaded: its streams are refused until it is fixed.
      ...(rule?.error !== undefined ? { error: rule.error } : {}),
    };
  };

  app.get<{ Params: { app: string; stream: string } }>(
    '/api/v1/streams/:app/:stream/security',
    {
      schema: {
        summary: 'The security settings that govern a stream',
        security: bearer,
        params: streamParams,
        response: { 200: securitySchema },
      },
    },
    async (request) => describe(request.params.app, request.params.stream),
  );

  app.put<{ Params: { app: string; stream: string }; Body: Record<string, unknown> }>(
    '/api/v1/streams/:app/:stream/security',
    {
      schema: {
        summary:
          'Update the stream’s own security: the fields sent change, omitted fields keep their value, "keys": [] removes the keys (persisted; applied to live sessions at once)',
        security: bearer,
        params: streamParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            publish: { type: 'string', enum: ['secured', 'open'] },
            play: { type: 'string', enum: ['secured', 'open'] },
            requireExp: { type: 'boolean' },
            maxTokenLifetimeSec: { type: 'integer', minimum: 1 },
            maxSessionsPerSubject: sessionLimitsSchema,
            keys: {
              type: 'array',
              items: {
                type: 'object',
                description:
                  'Inline key material only: secret (HS*), publicKey (PEM) or jwk; file paths are refused',
                properties: {
                  kid: { type: 'string' },
                  alg: { type: 'string' },
                  secret: { type: 'string' },
                  publicKey: { type: 'string' },
                  jwk: { type: 'object' },
                  actions: {
                    type: 'array',
                    items: { type: 'string', enum: ['publish', 'play', 'admin'] },
                    description: 'publish and play; a stream key never grants admin',
                  },
                  subject: { type: 'string', enum: ['stream', 'principal'] },
                  requireSub: { type: 'boolean' },
                  maxSessionsPerSubject: sessionLimitsSchema,
                },
                required: ['alg'],
              },
            },
          },
        },
        response: { 200: securitySchema, 400: errorSchema, 409: errorSchema },
      },
    },
    async (request) => {
      await deps.security.set(`${request.params.app}/${request.params.stream}`, request.body);
      return describe(request.params.app, request.params.stream);
    },
  );

  app.delete<{ Params: { app: string; stream: string } }>(
    '/api/v1/streams/:app/:stream/security',
    {
      schema: {
        summary: 'Drop the stream’s run-time security rule (config rules remain)',
        security: bearer,
        params: streamParams,
        response: { 200: securitySchema, 404: errorSchema },
      },
    },
    async (request) => {
      const removed = await deps.security.remove(`${request.params.app}/${request.params.stream}`);
      if (!removed) throw new StagedoorError('NOT_FOUND', 'no run-time rule for this stream');
      return describe(request.params.app, request.params.stream);
    },
  );
}
