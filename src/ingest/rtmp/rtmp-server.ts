import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { RtmpConnection, type RtmpConnectionDeps } from './rtmp-connection.js';

/** The RTMP listener: accepts sockets and gives each its own guarded RtmpConnection. */
export class RtmpServer {
  readonly #server: Server;
  readonly #connections = new Set<RtmpConnection>();
  readonly #deps: RtmpConnectionDeps;
  #nextId = 1;

  constructor(deps: RtmpConnectionDeps) {
    this.#deps = deps;
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#server.on('error', (error) => deps.log.error({ err: error }, 'rtmp server error'));
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting; connections not yet admitted are dropped (sessions are closed by their owner). */
  close(): Promise<void> {
    for (const connection of this.#connections) connection.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    const connection = new RtmpConnection(socket, `rtmp-${this.#nextId++}`, this.#deps);
    this.#connections.add(connection);
    socket.once('close', () => this.#connections.delete(connection));
  }
}
