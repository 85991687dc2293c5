import { readFileSync } from 'node:fs';
import type { BlockList } from 'node:net';
import { configError } from '../config/config-error.js';
import type { Config } from '../config/schema.js';
import { addressList } from '../net/client-address.js';
import { inheritedSockets, type ListenTarget } from '../net/listen.js';

/** Every duration a part is given, in milliseconds: converted from the config's seconds once, here. */
export interface Durations {
  rtmpAdmissionTimeout: number;
  wsMaxAhead: number;
  httpHeadersTimeout: number;
  hlsViewerIdle: number;
  hlsCleanupAfter: number;
  ffmpegStopTimeout: number;
  ffmpegRestartBackoffMax: number;
  segmentPass: number;
  /** Cluster (defaults when there is none: unused then). */
  clusterLeaseTtl: number;
  clusterCommandTimeout: number;
}

/** What the wiring needs from the config beyond plain values: parsed address blocks, file bytes, ms. */
export interface RuntimeInputs {
  ms: Readonly<Durations>;
  /**
   * Where each listener listens: its configured address, or the socket a service manager handed
   * over under its name (`http`, `rtmp`, `rtmps`, `admin`; systemd socket activation).
   */
  listen: {
    http: ListenTarget;
    rtmp: ListenTarget;
    rtmps: ListenTarget | undefined;
    admin: ListenTarget;
  };
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
  const handed = inheritedSockets();
  const target = (name: string, address: { host: string; port: number }): ListenTarget => {
    const fd = handed.get(name);
    return fd === undefined ? { host: address.host, port: address.port } : { fd };
  };
  const rtmpsAddress = config.rtmp.tls;
  return {
    listen: {
      http: target('http', config.http),
      rtmp: target('rtmp', config.rtmp),
      rtmps: rtmpsAddress ? target('rtmps', rtmpsAddress) : undefined,
      admin: target('admin', config.admin),
    },
    ms: Object.freeze({
      rtmpAdmissionTimeout: config.rtmp.admissionTimeoutSec * 1000,
      wsMaxAhead: config.ws.maxAheadSec * 1000,
      httpHeadersTimeout: config.http.headersTimeoutSec * 1000,
      hlsViewerIdle: config.hls.viewerIdleSec * 1000,
      hlsCleanupAfter: config.hls.cleanupAfterSec * 1000,
      ffmpegStopTimeout: config.hls.stopTimeoutSec * 1000,
      ffmpegRestartBackoffMax: config.hls.restartBackoffMaxSec * 1000,
      segmentPass:
        (config.hls.passes.segmentPassSec ?? Math.max(8, 4 * config.hls.segmentSec)) * 1000,
      clusterLeaseTtl: (config.cluster?.leaseTtlSec ?? 0) * 1000,
      clusterCommandTimeout: (config.cluster?.commandTimeoutSec ?? 0) * 1000,
    }),
    trustedProxies,
    httpTls: tls(config.http.tls, 'http.tls'),
    rtmpTls: tls(config.rtmp.tls, 'rtmp.tls'),
  };
}
