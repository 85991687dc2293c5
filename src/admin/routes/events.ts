import type { FastifyInstance } from 'fastify';
import type { EventFeed } from '../../observability/audit.js';
import { bearer } from '../schemas.js';

/** Server-Sent Events: session start/end, refusals and kicks as they happen. */
export function eventRoutes(app: FastifyInstance, deps: { events: EventFeed }): void {
  app.get(
    '/api/v1/events',
    {
      schema: {
        summary:
          'Live feed (text/event-stream) of session_start, session_refreshed, session_end, refusal and kick events of every node (each names its node)',
        security: bearer,
      },
    },
    async (request, reply) => {
      reply.hijack();
      const out = reply.raw;
      out.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      out.write(': stagedoor events\n\n');
      const unsubscribe = deps.events.onEvent((event) => {
        // A reader that does not keep up is dropped rather than buffered without bound.
        if (out.writableLength > 1024 * 1024) {
          out.destroy();
          return;
        }
        out.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      });
      const heartbeat = setInterval(() => out.write(': keep-alive\n\n'), 15_000);
      const stop = (): void => {
        clearInterval(heartbeat);
        unsubscribe();
      };
      request.raw.on('close', stop);
      out.on('close', stop);
    },
  );
}
