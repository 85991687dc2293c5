import { mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
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
import { StreamSecurity } from './auth/stream-security.js';
import { IssuerStore } from './auth/oidc/issuer-store.js';
import { GeoIp } from './auth/geoip.js';
import { UsedTokens } from './auth/used-tokens.js';
import { RevocationList, type Revocation } from './auth/revocations.js';
import { Enforcer } from './sessions/enforcer.js';
import { JsonStateFile } from './state/json-state-file.js';
import { addressList } from './net/client-address.js';
import type { StreamRuleConfig } from './config/schema.js';
import { join } from 'node:path';
import { StagedoorError } from './errors.js';
import { Metrics } from './observability/metrics.js';
import { Audit } from './observability/audit.js';
import { AdminAuth } from './admin/admin-auth.js';
import { buildAdminServer } from './admin/admin-server.js';
import { locateFfmpeg } from './transcode/locate-ffmpeg.js';
import { TranscodeManager } from './transcode/transcode-manager.js';
import { HlsViewers } from './delivery/hls-viewers.js';
import { registerHlsRoutes } from './delivery/hls-routes.js';
import { registerStaticPages } from './http/static-pages.js';
import { closeGracefully } from './http/close-gracefully.js';
import { WsIngest } from './ingest/ws/ws-ingest.js';
import { IngestKeys } from './auth/ingest-keys.js';
import { registerIngestKeyRoute } from './ingest/ingest-key-route.js';

export interface Stagedoor {
  readonly config: Config;
  readonly keys: KeyStore;
  readonly authenticator: TokenAuthenticator;
  readonly registry: SessionRegistry;
  readonly hub: StreamHub;
  /** Undefined when `hls.enabled` is false. */
  readonly transcoders: TranscodeManager | undefined;
  readonly hlsViewers: HlsViewers;
  readonly security: StreamSecurity;
  readonly revocations: RevocationList;
  readonly ingestKeys: IngestKeys;
  readonly issuers: IssuerStore;
  readonly metrics: Metrics;
  readonly audit: Audit;
  /** Listens on every port; resolves with the bound addresses (port 0 picks a free one). */
  start(): Promise<{ rtmp: AddressInfo; http: AddressInfo; admin: AddressInfo | undefined; rtmps: AddressInfo | undefined }>;
  /** Stops accepting, closes every session with reason `shutdown`, closes the listeners. */
  stop(): Promise<void>;
}

/** Builds every component from a validated config; nothing listens until `start`. */
export async function createStagedoor(config: Config, log: Logger): Promise<Stagedoor> {
  adoptNmsLogger(log.child({ component: 'rtmp' }));
  const trusted = await Promise.all(config.auth.keys.map((key, i) => importTrustedKey(key, `auth.keys[${i}]`)));
  const keys = new KeyStore(trusted);
  const stateLog = log.child({ component: 'state' });
  const security = await StreamSecurity.create(config.streams, keys, new JsonStateFile<StreamRuleConfig[]>(join(config.stateDir, 'stream-security.json'), stateLog), log.child({ component: 'security' }));
  const revocations = await RevocationList.create(new JsonStateFile<Revocation[]>(join(config.stateDir, 'revocations.json'), stateLog), log.child({ component: 'revocations' }));
  const usedTokens = config.auth.singleUsePublish ? await UsedTokens.create(new JsonStateFile<Record<string, number>>(join(config.stateDir, 'used-tokens.json'), stateLog)) : undefined;
  const ingestKeys = await IngestKeys.create(new JsonStateFile(join(config.stateDir, 'ingest-keys.json'), stateLog), log.child({ component: 'ingest-keys' }));
  const issuers = new IssuerStore(config.auth.issuers, log.child({ component: 'oidc' }));
  let trustedProxies: ReturnType<typeof addressList> | undefined;
  try {
    trustedProxies = config.http.trustedProxies.length > 0 ? addressList(config.http.trustedProxies) : undefined;
  } catch (cause) {
    throw new StagedoorError('CONFIG_INVALID', `invalid configuration: "http.trustedProxies": ${(cause as Error).message}`, { cause });
  }
  const authenticator = new TokenAuthenticator({
    keys,
    issuers,
    cache: new TokenCache(config.auth.cacheMaxEntries),
    security,
    revocations,
    usedTokens,
    ingestKeys,
    geo: new GeoIp(),
    clockToleranceSec: config.auth.clockToleranceSec,
    requireExp: config.auth.requireExp,
    maxAccessRuleEntries: config.auth.maxAccessRuleEntries,
    singleUsePublish: config.auth.singleUsePublish,
    maxTokenLifetimeSec: config.auth.maxTokenLifetimeSec,
  });
  const registry = new SessionRegistry(log.child({ component: 'sessions' }));
  // Revocations, security changes and retired keys act on live sessions at once, by the same rules.
  const enforcer = new Enforcer(registry, authenticator, log.child({ component: 'enforcer' }));
  revocations.onAdd((revocation) => enforcer.review({ trigger: 'revocation', id: revocation.id }));
  security.onChange((_rule, match) => enforcer.review({ trigger: 'stream-security', match }));
  issuers.onKeysRetired((issuer, kids) => enforcer.review({ trigger: 'issuer-keys-retired', issuer, kids }));
  const hub = new StreamHub({ publisherTakeover: config.rtmp.publisherTakeover, gopCacheBytes: config.rtmp.gopCacheBytes });
  // FFmpeg is looked up before anything listens: a missing binary is a startup error, not a surprise.
  const ffmpeg = config.hls.enabled ? locateFfmpeg(config.hls.ffmpegPath) : undefined;
  const transcoders = ffmpeg
    ? new TranscodeManager({ hub, ffmpegPath: ffmpeg.path, hls: config.hls, mediaDir: config.mediaDir, log: log.child({ component: 'transcode' }), onRestart: () => metrics.ffmpegRestarts.inc() })
    : undefined;
  const metrics = new Metrics({ registry, issuers, transcoders });
  const audit = new Audit(log.child({ component: 'audit' }), registry, metrics);
  const rtmp = new RtmpServer({
    audit,
    authenticator,
    registry,
    hub,
    log: log.child({ component: 'rtmp' }),
    limits: {
      maxMessageBytes: config.rtmp.maxMessageBytes,
      maxViewerBufferBytes: config.rtmp.maxViewerBufferBytes,
      admissionTimeoutMs: config.rtmp.admissionTimeoutSec * 1000,
    },
    maxPending: config.rtmp.maxPendingConnections,
    maxPendingPerAddress: config.rtmp.maxPendingPerAddress,
  });
  const hlsViewers = new HlsViewers({ authenticator, registry }, { idleMs: config.hls.viewerIdleSec * 1000 });
  const ws = config.ws.enabled
    ? new WsIngest({
        audit,
        authenticator,
        registry,
        hub,
        transcoders,
        log: log.child({ component: 'ws' }),
        allowedOrigins: config.ws.allowedOrigins,
        maxMessageBytes: config.ws.maxMessageBytes,
        maxBufferedBytes: config.ws.maxBufferedBytes,
        maxAheadSec: config.ws.maxAheadSec,
        trustedProxies,
      })
    : undefined;
  const readPem = (path: string, where: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (cause) {
      throw new StagedoorError('CONFIG_INVALID', `invalid configuration: "${where}": cannot read ${path}`, { cause });
    }
  };
  const httpTls = config.http.tls ? { cert: readPem(config.http.tls.cert, 'http.tls.cert'), key: readPem(config.http.tls.key, 'http.tls.key') } : undefined;
  const rtmpTls = config.rtmp.tls ? { cert: readPem(config.rtmp.tls.cert, 'rtmp.tls.cert'), key: readPem(config.rtmp.tls.key, 'rtmp.tls.key') } : undefined;
  const http = buildHttpServer({
    log,
    tls: httpTls,
    headersTimeoutMs: config.http.headersTimeoutSec * 1000,
    upgrades: ws ? [(request, socket, head) => ws.handleUpgrade(request, socket, head)] : [],
    register: (app) => {
      registerStaticPages(app, { playerEmbedOrigins: config.http.playerEmbedOrigins });
      ws?.register(app);
      registerIngestKeyRoute(app, { authenticator, ingestKeys, audit, trustedProxies, rtmpServer: (appName) => `rtmp://${config.banner.publicHost}:${config.rtmp.port}/${appName}` });
      registerHlsRoutes(app, { audit, metrics, mediaDir: config.mediaDir, viewers: hlsViewers, corsOrigins: config.http.corsOrigins, trustedProxies });
    },
  });
  let listening = false;
  const admin = config.admin.enabled
    ? await buildAdminServer({
        log,
        auth: new AdminAuth(config.admin.apiKeys, authenticator),
        audit,
        metrics,
        registry,
        revocations,
        hub,
        transcoders,
        security,
        issuers,
        hls: config.hls,
        ready: () => listening,
      })
    : undefined;
  let stopping: Promise<void> | undefined;

  return {
    config,
    keys,
    authenticator,
    registry,
    hub,
    transcoders,
    hlsViewers,
    security,
    revocations,
    ingestKeys,
    issuers,
    metrics,
    audit,
    async start() {
      await issuers.warm(log.child({ component: 'oidc' }));
      if (transcoders) {
        await mkdir(config.mediaDir, { recursive: true });
        await transcoders.removeStaleOutput();
        transcoders.start();
        log.info({ event: 'ffmpeg_found', path: ffmpeg!.path, version: ffmpeg!.version }, 'ffmpeg found');
      }
      const rtmpAddress = await rtmp.listen(config.rtmp.host, config.rtmp.port);
      const rtmpsAddress = rtmpTls && config.rtmp.tls ? await rtmp.listenSecure(config.rtmp.tls.host, config.rtmp.tls.port, rtmpTls) : undefined;
      await http.listen({ host: config.http.host, port: config.http.port });
      const httpAddress = http.server.address() as AddressInfo;
      let adminAddress: AddressInfo | undefined;
      if (admin) {
        await admin.listen({ host: config.admin.host, port: config.admin.port });
        adminAddress = admin.server.address() as AddressInfo;
      }
      listening = true;
      log.info({ event: 'listening', rtmp: `${rtmpAddress.address}:${rtmpAddress.port}`, http: `${httpAddress.address}:${httpAddress.port}`, admin: adminAddress ? `${adminAddress.address}:${adminAddress.port}` : undefined, rtmps: rtmpsAddress ? `${rtmpsAddress.address}:${rtmpsAddress.port}` : undefined, https: httpTls !== undefined, keys: keys.size }, 'stagedoor listening');
      return { rtmp: rtmpAddress, http: httpAddress, admin: adminAddress, rtmps: rtmpsAddress };
    },
    stop() {
      stopping ??= (async () => {
        const closed = registry.closeAll('shutdown');
        const closing = rtmp.close();
        hlsViewers.close();
        issuers.close();
        ws?.closeAll();
        listening = false;
        await Promise.all([closing, closeGracefully(http), admin ? closeGracefully(admin) : undefined, transcoders?.stop()]);
        log.info({ event: 'stopped', sessionsClosed: closed }, 'stagedoor stopped');
      })();
      return stopping;
    },
  };
}
