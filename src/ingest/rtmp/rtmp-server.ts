import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { RtmpConnection, type RtmpConnectionDeps } from './rtmp-connection.js';

/** The RTMP listener: accepts sockets and gives each its own guarded RtmpConnection. */
export class RtmpServer {
  readonly #server: Server;
  #tlsServer: Server | undefined;
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
    return listenOn(this.#server, host, port);
  }

  /** RTMPS: the same connections behind TLS (a failed handshake never reaches the RTMP engine). */
  listenSecure(host: string, port: number, tls: TlsOptions): Promise<AddressInfo> {
    this.#tlsServer = createTlsServer({ ...tls, handshakeTimeout: 10_000 }, (socket) => this.#accept(socket));
    this.#tlsServer.on('tlsClientError', (error) => this.#deps.log.debug({ err: error }, 'rtmps handshake failed'));
    this.#tlsServer.on('error', (error) => this.#deps.log.error({ err: error }, 'rtmps server error'));
    return listenOn(this.#tlsServer, host, port);
  }

  /** Stops accepting; connections not yet admitted are dropped (sessions are closed by their owner). */
  close(): Promise<void> {
    for (const connection of this.#connections) connection.destroy();
    const closeOne = (server: Server | undefined) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    return Promise.all([closeOne(this.#server), closeOne(this.#tlsServer)]).then(() => undefined);
  }

  #accept(socket: Socket): void {
    const connection = new RtmpConnection(socket, `rtmp-${this.#nextId++}`, this.#deps);
    this.#connections.add(connection);
    socket.once('close', () => this.#connections.delete(connection));
  }
}

function listenOn(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}
