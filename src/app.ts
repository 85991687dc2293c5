import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import type { Logger } from './log/logger.js';
import { importTrustedKey } from './auth/import-key.js';
import { KeyStore } from './auth/key-store.js';
import { TokenCache } from './auth/token-cache.js';
import { TokenAuthenticator } from './auth/authenticator.js';
import { SessionRegistry } from './sessions/session-registry.js';
import { StreamHub } from './media/stream-hub.js';
import { RtmpServer } from './ingest/rtmp/rtmp-server.js';
import { adoptNmsLogger } from './ingest/rtmp/nms.js';
import { buildHttpServer } from './http/http-server.js';

export interface Stagedoor {
  readonly config: Config;
  readonly keys: KeyStore;
  readonly authenticator: TokenAuthenticator;
  readonly registry: SessionRegistry;
  readonly hub: StreamHub;
  /** Listens on every port; resolves with the bound addresses (port 0 picks a free one). */
  start(): Promise<{ rtmp: AddressInfo; http: AddressInfo }>;
  /** Stops accepting, closes every session with reason `shutdown`, closes the listeners. */
  stop(): Promise<void>;
}

/** Builds every component from a validated config; nothing listens until `start`. */
export async function createStagedoor(config: Config, log: Logger): Promise<Stagedoor> {
  adoptNmsLogger(log.child({ component: 'rtmp' }));
  const trusted = await Promise.all(config.auth.keys.map((key, i) => importTrustedKey(key, `auth.keys[${i}]`)));
  const keys = new KeyStore(trusted);
  const authenticator = new TokenAuthenticator({
    keys,
    cache: new TokenCache(config.auth.cacheMaxEntries),
    clockToleranceSec: config.auth.clockToleranceSec,
    requireExp: config.auth.requireExp,
  });
  const registry = new SessionRegistry(log.child({ component: 'sessions' }));
  const hub = new StreamHub({ publisherTakeover: config.rtmp.publisherTakeover, gopCacheBytes: config.rtmp.gopCacheBytes });
  const rtmp = new RtmpServer({
    authenticator,
    registry,
    hub,
    log: log.child({ component: 'rtmp' }),
    limits: {
      maxMessageBytes: config.rtmp.maxMessageBytes,
      maxViewerBufferBytes: config.rtmp.maxViewerBufferBytes,
      admissionTimeoutMs: config.rtmp.admissionTimeoutSec * 1000,
    },
  });
  const http = buildHttpServer({ log });
  let stopping: Promise<void> | undefined;

  return {
    config,
    keys,
    authenticator,
    registry,
    hub,
    async start() {
      const rtmpAddress = await rtmp.listen(config.rtmp.host, config.rtmp.port);
      await http.listen({ host: config.http.host, port: config.http.port });
      const httpAddress = http.server.address() as AddressInfo;
      log.info({ event: 'listening', rtmp: `${rtmpAddress.address}:${rtmpAddress.port}`, http: `${httpAddress.address}:${httpAddress.port}`, keys: keys.size }, 'stagedoor listening');
      return { rtmp: rtmpAddress, http: httpAddress };
    },
    stop() {
      stopping ??= (async () => {
        const closing = rtmp.close();
        const closed = registry.closeAll('shutdown');
        await Promise.all([closing, http.close()]);
        log.info({ event: 'stopped', sessionsClosed: closed }, 'stagedoor stopped');
      })();
      return stopping;
    },
  };
}
