import type { FastifyInstance } from 'fastify';
import { listenOn, type ListenTarget } from '../net/listen.js';

/** Starts a fastify server on an address, or on a socket handed over by a service manager. */
export async function listenFastify(app: FastifyInstance, target: ListenTarget): Promise<void> {
  if ('fd' in target) {
    await app.ready();
    await listenOn(app.server, target);
    return;
  }
  await app.listen({ host: target.host, port: target.port });
}
