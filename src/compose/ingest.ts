import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { RtmpServer } from '../ingest/rtmp/rtmp-server.js';
import { adoptNmsLogger } from '../formats/flv/nms.js';
import { WsIngest } from '../ingest/ws/ws-ingest.js';
import type { Component } from './lifecycle.js';
import type { MediaArea } from './media.js';
import type { AccessArea } from './access.js';
import type { RuntimeInputs } from './runtime.js';
import { listenAs } from './listen-failure.js';

export interface IngestArea {
  rtmp: RtmpServer;
  /** Undefined when `ws.enabled` is false. */
  ws: WsIngest | undefined;
  /** Where RTMP (and RTMPS) listen, once started. */
  addresses(): { rtmp: AddressInfo; rtmps: AddressInfo | undefined };
  components: Component[];
}

/** The RTMP listener (and RTMPS beside it) and WebSocket ingest; both only ask the authenticator. */
export function buildIngest(
  config: Config,
  log: Logger,
  runtime: RuntimeInputs,
  areas: {
    access: AccessArea;
    media: MediaArea;
  },
): IngestArea {
  const { access, media } = areas;
  adoptNmsLogger(log.child({ component: 'rtmp' }));
  const rtmp = new RtmpServer({
    admission: access.admission,
    hub: media.hub,
    log: log.child({ component: 'rtmp' }),
    limits: {
      maxMessageBytes: config.rtmp.maxMessageBytes,
      maxViewerBufferBytes: config.rtmp.maxViewerBufferBytes,
      admissionTimeoutMs: runtime.ms.rtmpAdmissionTimeout,
    },
    maxPending: config.rtmp.maxPendingConnections,
    maxPendingPerAddress: config.rtmp.maxPendingPerAddress,
  });
  const ws = config.ws.enabled
    ? new WsIngest({
        admission: access.admission,
        log: log.child({ component: 'ws' }),
        allowedOrigins: config.ws.allowedOrigins,
        maxMessageBytes: config.ws.maxMessageBytes,
        maxBufferedBytes: config.ws.maxBufferedBytes,
        maxAheadMs: runtime.ms.wsMaxAhead,
        trustedProxies: runtime.trustedProxies,
      })
    : undefined;
  let addresses: { rtmp: AddressInfo; rtmps: AddressInfo | undefined } | undefined;
  const { rtmp: plain, rtmps } = runtime.listen;
  const listener: Component = {
    name: 'rtmp',
    async start() {
      const tls = runtime.rtmpTls;
      addresses = {
        rtmp: await listenAs('rtmp', plain, (target) => rtmp.listen(target)),
        rtmps:
          tls && rtmps
            ? await listenAs('rtmp.tls', rtmps, (target) => rtmp.listenSecure(target, tls))
            : undefined,
      };
    },
    stop: () => rtmp.close(),
  };
  const components: Component[] = [listener];
  if (ws) components.push({ name: 'websocket ingest', stop: () => ws.closeAll() });
  return {
    rtmp,
    ws,
    addresses: () => {
      if (!addresses) throw new Error('the RTMP listener has not started');
      return addresses;
    },
    components,
  };
}
