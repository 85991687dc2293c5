import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { normalizeAddress } from '../../net/address.js';
import { listenOn, type ListenTarget } from '../../net/listen.js';
import { RtmpConnection, type RtmpConnectionDeps } from './rtmp-connection.js';

export interface RtmpServerDeps extends RtmpConnectionDeps {
  /** Connections not yet admitted (handshake, connect, token check): at most this many in all … */
  maxPending: number;
  /** … and at most this many from one address; more are dropped at accept. */
  maxPendingPerAddress: number;
}

/**
 * The RTMP listener: accepts sockets and gives each its own guarded RtmpConnection. Clients that
 * have not been admitted yet are counted per address and in all, so that a flood of idle anonymous
 * connections is dropped at the door and never crowds out a publisher from elsewhere.
 */
export class RtmpServer {
  readonly #server: Server;
  #tlsServer: Server | undefined;
  readonly #connections = new Set<RtmpConnection>();
  readonly #pendingByAddress = new Map<string, number>();
  #pending = 0;
  #lastLimitLog = 0;
  readonly #deps: RtmpServerDeps;
  #nextId = 1;

  constructor(deps: RtmpServerDeps) {
    this.#deps = deps;
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#server.on('error', (error) => deps.log.error({ err: error }, 'rtmp server error'));
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  listen(target: ListenTarget): Promise<AddressInfo> {
    return listenOn(this.#server, target);
  }

  /** RTMPS: the same connections behind TLS (a failed handshake never reaches the RTMP engine). */
  listenSecure(target: ListenTarget, tls: TlsOptions): Promise<AddressInfo> {
    this.#tlsServer = createTlsServer({ ...tls, handshakeTimeout: 10_000 }, (socket) =>
      this.#accept(socket),
    );
    this.#tlsServer.on('tlsClientError', (error) =>
      this.#deps.log.debug({ err: error }, 'rtmps handshake failed'),
    );
    this.#tlsServer.on('error', (error) =>
      this.#deps.log.error({ err: error }, 'rtmps server error'),
    );
    return listenOn(this.#tlsServer, target);
  }

  /** Stops accepting; connections not yet admitted are dropped (sessions are closed by their owner). */
  close(): Promise<void> {
    for (const connection of this.#connections) connection.destroy();
    const closeOne = (server: Server | undefined) =>
      new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    return Promise.all([closeOne(this.#server), closeOne(this.#tlsServer)]).then(() => undefined);
  }

  get pendingCount(): number {
    return this.#pending;
  }

  #accept(socket: Socket): void {
    const address = normalizeAddress(socket.remoteAddress);
    const fromAddress = this.#pendingByAddress.get(address) ?? 0;
    if (this.#pending >= this.#deps.maxPending || fromAddress >= this.#deps.maxPendingPerAddress) {
      socket.destroy();
      const now = Date.now();
      if (now - this.#lastLimitLog > 10_000) {
        this.#lastLimitLog = now;
        this.#deps.log.warn(
          {
            event: 'rtmp_pending_limit',
            address,
            pendingFromAddress: fromAddress,
            pending: this.#pending,
          },
          'too many RTMP connections waiting for admission; dropping new ones',
        );
      }
      return;
    }
    this.#pending++;
    this.#pendingByAddress.set(address, fromAddress + 1);
    const connection = new RtmpConnection(socket, `rtmp-${this.#nextId++}`, this.#deps, () => {
      this.#pending--;
      const left = (this.#pendingByAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#pendingByAddress.set(address, left);
      else this.#pendingByAddress.delete(address);
    });
    this.#connections.add(connection);
    socket.once('close', () => this.#connections.delete(connection));
  }
}
