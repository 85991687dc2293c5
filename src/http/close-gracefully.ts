import type { FastifyInstance } from 'fastify';

/**
 * Closes a server: new requests are refused at once; requests in flight get `graceMs` to finish,
 * then every connection (keep-alive sockets, event streams) is cut so shutdown never hangs.
 */
export async function closeGracefully(app: FastifyInstance, graceMs = 1000): Promise<void> {
  const force = setTimeout(() => app.server.closeAllConnections(), graceMs);
  const idle = setInterval(() => app.server.closeIdleConnections(), 100);
  try {
    await app.close();
  } finally {
    clearTimeout(force);
    clearInterval(idle);
  }
}
