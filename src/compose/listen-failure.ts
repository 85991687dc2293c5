import { envVariableFor } from '../config/env-overrides.js';
import { StagedoorError } from '../errors.js';
import type { ListenTarget } from '../net/listen.js';

/** A listener's settings: where its host and port are in the config (`rtmp`, `http`, `admin`, `rtmp.tls`). */
export type ListenerSetting = 'rtmp' | 'rtmp.tls' | 'http' | 'admin';

/**
 * Why an address cannot be listened on, as one sentence naming the setting and the variable that
 * changes it (`rtmp.port 1935 is already in use on 0.0.0.0 (set rtmp.port in the config or
 * STAGEDOOR_RTMP__PORT)`), coded PORT_UNAVAILABLE; any other error (a handed-over socket's
 * included) is returned as it is.
 */
export function listenFailure(
  error: unknown,
  setting: ListenerSetting,
  target: ListenTarget,
): unknown {
  if ('fd' in target) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const key = (name: 'host' | 'port') => `${setting}.${name}`;
  const change = (name: 'host' | 'port') =>
    `set ${key(name)} in the config or ${envVariableFor([...setting.split('.'), name])}`;
  const say = (message: string) =>
    new StagedoorError('PORT_UNAVAILABLE', message, { cause: error });
  switch (code) {
    case 'EADDRINUSE':
      return say(
        `${key('port')} ${target.port} is already in use on ${target.host} (${change('port')})`,
      );
    case 'EACCES':
      return say(
        `${key('port')} ${target.port} on ${target.host} is not permitted to this process: ports below 1024 need root or CAP_NET_BIND_SERVICE (${change('port')})`,
      );
    case 'EADDRNOTAVAIL':
      return say(
        `${key('host')} ${target.host} is not an address of this machine (${change('host')})`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return say(
        `${key('host')} ${target.host} does not resolve to an address (${change('host')})`,
      );
    default:
      return error;
  }
}

/** Starts a listener, translating a failure to listen with `listenFailure`. */
export async function listenAs<T>(
  setting: ListenerSetting,
  target: ListenTarget,
  listen: (target: ListenTarget) => Promise<T>,
): Promise<T> {
  try {
    return await listen(target);
  } catch (error) {
    throw listenFailure(error, setting, target);
  }
}
