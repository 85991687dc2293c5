import type { AddressInfo, Server } from 'node:net';

/**
 * Where a listener listens: an address, or a listening socket a service manager opened and handed
 * over (systemd socket activation), which stays open while Stagedoor restarts: connections wait in
 * its backlog instead of being refused.
 */
export type ListenTarget = { host: string; port: number } | { fd: number };

/**
 * The listening sockets handed over by a service manager, by name (sd_listen_fds(3): LISTEN_FDS,
 * LISTEN_PID, LISTEN_FDNAMES; descriptors from 3). Empty when none were, or not for this process.
 */
export function inheritedSockets(
  env: NodeJS.ProcessEnv = process.env,
  pid: number = process.pid,
): Map<string, number> {
  const count = Number(env.LISTEN_FDS);
  const sockets = new Map<string, number>();
  if (!Number.isInteger(count) || count <= 0) return sockets;
  if (env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) !== pid) return sockets;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  for (let i = 0; i < count; i++) sockets.set(names[i] || `fd${3 + i}`, 3 + i);
  return sockets;
}

/** Listens on `target`; resolves with the bound address. */
export function listenOn(server: Server, target: ListenTarget): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen('fd' in target ? { fd: target.fd } : target, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Says where a target is, for logs. */
export function describeTarget(target: ListenTarget): string {
  return 'fd' in target ? `fd ${target.fd}` : `${target.host}:${target.port}`;
}
