import { readFileSync } from 'node:fs';
import type { BlockList } from 'node:net';
import { configError } from '../config/config-error.js';
import type { Config } from '../config/schema.js';
import { addressList } from '../net/client-address.js';

/** What the wiring needs from the config beyond plain values: parsed address blocks and file bytes. */
export interface RuntimeInputs {
  /** Proxies whose X-Forwarded-For is believed; undefined when none is configured. */
  trustedProxies: BlockList | undefined;
  httpTls: { cert: Buffer; key: Buffer } | undefined;
  rtmpTls: { cert: Buffer; key: Buffer } | undefined;
}

function readPem(path: string, where: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw configError(where, `cannot read ${path}`, cause);
  }
}

/** Parses and reads once, at startup, so that nothing later does it per request or per part. */
export function resolveRuntimeInputs(config: Config): RuntimeInputs {
  let trustedProxies: BlockList | undefined;
  try {
    trustedProxies =
      config.http.trustedProxies.length > 0 ? addressList(config.http.trustedProxies) : undefined;
  } catch (cause) {
    throw configError('http.trustedProxies', (cause as Error).message, cause);
  }
  const tls = (files: { cert: string; key: string } | undefined, where: string) =>
    files
      ? { cert: readPem(files.cert, `${where}.cert`), key: readPem(files.key, `${where}.key`) }
      : undefined;
  return {
    trustedProxies,
    httpTls: tls(config.http.tls, 'http.tls'),
    rtmpTls: tls(config.rtmp.tls, 'rtmp.tls'),
  };
}
