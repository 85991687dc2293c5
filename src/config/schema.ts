import { z } from 'zod';

/** Token algorithms Stagedoor verifies. `none` is not among them and never will be. */
export const SUPPORTED_ALGS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
] as const;
export type SupportedAlg = (typeof SUPPORTED_ALGS)[number];

export const ACTIONS = ['publish', 'play', 'admin'] as const;
export type Action = (typeof ACTIONS)[number];

const port = z.number().int().min(0).max(65535);
/** A certificate chain and its private key, as PEM files. */
const tlsFiles = z.strictObject({ cert: z.string().min(1), key: z.string().min(1) });
const host = z.string().min(1);

/** A pass key: an id and a secret of at least 32 characters (used as its UTF-8 bytes, as nginx njs does). */
export const passKeySchema = z.strictObject({
  kid: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'kid is 1–32 of A-Z a-z 0-9 _ -'),
  secret: z
    .string()
    .regex(
      /^[\x21-\x7e]{32,}$/,
      'a pass key secret is 32 or more printable ASCII characters, no spaces',
    ),
});

/**
 * A key edges verify segment passes with: written into nginx's config (deploy/nginx-edge), where a
 * `$` or `\` inside the quoted value would be read as a variable or an escape, and `"` would end it.
 */
const edgeKeySchema = passKeySchema.extend({
  secret: passKeySchema.shape.secret.refine(
    (secret) => !/["$\\]/.test(secret),
    'an edge key secret goes into nginx config: no ", $ or \\ (nginx would read them as quotes, variables or escapes)',
  ),
});

/**
 * How viewers reach the CDN: an origin only (scheme, host, optional port). The token's scope is this
 * origin plus the stream's directory, so a path, query, fragment, user or `*` here would widen it or
 * make it one the CDN never sees.
 */
const cdnBaseUrl = z
  .url({ protocol: /^https?$/ })
  .regex(
    /^https?:\/\/[a-z0-9.:[\]-]+\/?$/,
    'an origin only, lower case, no path, query, fragment or wildcard: https://media.example.com',
  );

/** `url`: on every segment and part URI; `cookie`: signed cookies set with each playlist (short URIs). */
const cdnDelivery = z.enum(['url', 'cookie']).default('url');
/** The signed cookies' Domain, e.g. `.example.com`; by default the host the playlists come from. */
const cdnCookieDomain = z
  .string()
  .regex(
    /^\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$/,
    'a domain name',
  )
  .optional();

/** Query names Stagedoor reads itself (passes, tokens, ingest keys, LL-HLS directives). */
const RESERVED_QUERY_NAMES = /^(vs|token|jwt|key|_hls_.*)$/i;
const cdnTokenName = (fallback: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .refine(
      (name) => !RESERVED_QUERY_NAMES.test(name),
      'not a name Stagedoor reads itself (vs, token, jwt, key, _HLS_…)',
    )
    .default(fallback);

/**
 * A CDN's own signed-URL token, written on every segment, init and part URI beside Stagedoor's pass,
 * so that the CDN verifies them by configuration alone (`hls.passes.cdn`): see docs/cdn.md.
 */
const cdnPassSchema = z.discriminatedUnion('format', [
  z.strictObject({
    format: z.literal('akamai'),
    /** The property's token key, hex (Auth Token 2.0 "Token key"). */
    key: z.string().regex(/^([0-9a-fA-F]{2}){16,}$/, 'a hex key of at least 16 bytes'),
    /** The query parameter the property reads (Akamai's `hdnts` by default). */
    tokenName: cdnTokenName('hdnts'),
    algorithm: z.enum(['sha256', 'sha1', 'md5']).default('sha256'),
    /** Put the viewer's address in the token (`ip=`): only if the CDN sees the same address. */
    bindAddress: z.boolean().default(false),
  }),
  z.strictObject({
    format: z.literal('cloudfront'),
    /** The public key's id in the distribution's trusted key group. */
    keyPairId: z.string().regex(/^[A-Z0-9]{6,64}$/, 'a CloudFront public key id (K…)'),
    /** The private key, PEM (or `privateKeyFile`). */
    privateKey: z.string().optional(),
    privateKeyFile: z.string().optional(),
    /** How viewers reach the distribution: `https://d111111abcdef8.cloudfront.net` or your domain. */
    baseUrl: cdnBaseUrl,
    algorithm: z.enum(['SHA1', 'SHA256']).default('SHA1'),
    bindAddress: z.boolean().default(false),
    delivery: cdnDelivery,
    cookieDomain: cdnCookieDomain,
  }),
  z.strictObject({
    format: z.literal('google'),
    /** The signed URL key's name on the backend bucket or service. */
    keyName: z.string().regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a Cloud CDN key name'),
    /** The key, base64url of its 16 bytes (as `gcloud compute sign-url` takes it). */
    key: z.string().regex(/^[A-Za-z0-9_-]{22}={0,2}$/, 'base64url of 16 bytes'),
    /** How viewers reach the CDN: `https://media.example.com`. */
    baseUrl: cdnBaseUrl,
    delivery: cdnDelivery,
    cookieDomain: cdnCookieDomain,
  }),
  z.strictObject({
    format: z.literal('cat'),
    /** The key's id (COSE `kid`), as the verifying edge or CDN lists it. */
    kid: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a kid is 1–32 of A-Z a-z 0-9 _ -'),
    /** The HMAC 256/256 key, hex, 32 bytes or more (the edge's or CDN's CAT key). */
    key: z.string().regex(/^([0-9a-fA-F]{2}){32,}$/, 'a hex key of at least 32 bytes'),
    /** The query parameter the token goes in (`CAT`, as CTA-5007's examples and Akamai's module read it). */
    tokenName: cdnTokenName('CAT'),
    /** Wrap the COSE_Mac0 in the CWT tag (61); some verifiers expect it, some refuse it. */
    cwtTag: z.boolean().default(true),
    /**
     * A `catr` renewal claim, for a CDN that renews tokens near their end and players that take the
     * renewed one (a header or a cookie). Off by default: a renewing CDN extends segment access
     * without asking the origin (see docs/cdn.md); Stagedoor's nginx edge does not renew.
     */
    renewal: z
      .strictObject({
        type: z.enum(['header', 'cookie']),
        /** Seconds a renewal adds. */
        expAddSec: z.number().int().min(1).max(3600),
        /** Renew within this many seconds of `exp`. */
        deadlineSec: z.number().int().min(0).max(3600),
        /** The header or cookie the renewed token is sent in. */
        name: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .default('CTA-Common-Access-Token'),
      })
      .optional(),
  }),
  z.strictObject({
    format: z.literal('bunny'),
    /** The pull zone's URL token authentication key. */
    key: z.string().min(16),
    /** `HS256`: Bunny's current HMAC token (`HS256-…`); `SHA256`: its older plain-hash token. */
    algorithm: z.enum(['HS256', 'SHA256']).default('HS256'),
    /** Bind the token to the viewer's address (HS256 only): only where Bunny sees the same address. */
    bindAddress: z.boolean().default(false),
  }),
]);
export type CdnPassConfig = z.infer<typeof cdnPassSchema>;

/**
 * How many sessions one subject (a token's `sub`) may hold at once, cluster-wide, per action; a token
 * may lower it with its `max_sessions` claim, never raise it.
 */
export const sessionLimitsSchema = z.strictObject({
  /** Concurrent viewers (RTMP players, HLS viewers) per subject. */
  play: z.number().int().min(1).optional(),
  /** Concurrent publishers (RTMP, WebSocket) per subject. */
  publish: z.number().int().min(1).optional(),
  /** At the limit: `refuse` the new session (SESSION_LIMIT), or `replace-oldest` (cut it, `limit-replaced`). */
  onLimit: z.enum(['refuse', 'replace-oldest']).default('refuse'),
});
export type SessionLimitsConfig = z.infer<typeof sessionLimitsSchema>;

const keySchema = z
  .strictObject({
    kid: z.string().min(1).optional(),
    alg: z.enum(SUPPORTED_ALGS),
    secret: z.string().min(1).optional(),
    secretFile: z.string().min(1).optional(),
    createIfMissing: z.boolean().default(false),
    publicKey: z.string().min(1).optional(),
    publicKeyFile: z.string().min(1).optional(),
    jwk: z.record(z.string(), z.unknown()).optional(),
    actions: z.array(z.enum(ACTIONS)).min(1).default(['publish', 'play']),
    subject: z.enum(['stream', 'principal']).default('stream'),
    /** For `subject: stream` keys: refuse tokens without `sub` (by default `sub` is optional and, when present, binds the token to that stream). */
    requireSub: z.boolean().default(false),
    /** Concurrent sessions per subject for this key's tokens (a stream rule's own limit comes first). */
    maxSessionsPerSubject: sessionLimitsSchema.optional(),
  })
  .superRefine((key, ctx) => {
    const sources = (['secret', 'secretFile', 'publicKey', 'publicKeyFile', 'jwk'] as const).filter(
      (k) => key[k] !== undefined,
    );
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `exactly one of secret, secretFile, publicKey, publicKeyFile, jwk is required (got ${sources.length ? sources.join(', ') : 'none'})`,
      });
      return;
    }
    const symmetric = key.alg.startsWith('HS');
    const source = sources[0]!;
    if (symmetric && !(source === 'secret' || source === 'secretFile')) {
      ctx.addIssue({
        code: 'custom',
        path: [source],
        message: `${key.alg} needs a shared secret (secret or secretFile)`,
      });
    }
    if (!symmetric && (source === 'secret' || source === 'secretFile')) {
      ctx.addIssue({
        code: 'custom',
        path: [source],
        message: `${key.alg} needs a public key (publicKey, publicKeyFile or jwk), not a secret`,
      });
    }
    if (key.createIfMissing && source !== 'secretFile') {
      ctx.addIssue({
        code: 'custom',
        path: ['createIfMissing'],
        message: 'createIfMissing only applies to secretFile',
      });
    }
    if (key.requireSub && key.subject !== 'stream') {
      ctx.addIssue({
        code: 'custom',
        path: ['requireSub'],
        message: 'requireSub only applies to keys with subject "stream"',
      });
    }
  });

export type KeyConfig = z.infer<typeof keySchema>;

const issuerSchema = z.strictObject({
  /** Exactly the `iss` its tokens carry. */
  issuer: z.string().min(1),
  /** Required `aud` (one of). */
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  algorithms: z.array(z.enum(SUPPORTED_ALGS)).min(1).default(['RS256', 'PS256', 'ES256', 'EdDSA']),
  actions: z.array(z.enum(ACTIONS)).min(1).default(['publish', 'play']),
  /** For an identity provider `sub` is a user or client: streams come from scopes. */
  subject: z.enum(['stream', 'principal']).default('principal'),
  /** A claim holding permissions like scope values, e.g. `permissions` (Auth0) or `roles`. */
  permissionsClaim: z.string().min(1).optional(),
  /**
   * What a token with no scope (and no permissions claim) may do, as scope values. Default: nothing,
   * so that access tokens the provider mints for other purposes open no stream.
   */
  defaultScopes: z.array(z.string().min(1)).default([]),
  /** Skip discovery and use this JWKS URL. */
  jwksUri: z.string().min(1).optional(),
  /** Plain http, only for an issuer on loopback (tests, development). */
  allowHttp: z.boolean().default(false),
  jwksCooldownSec: z.number().min(0).default(30),
  jwksRefreshSec: z.number().positive().default(600),
  timeoutSec: z.number().positive().max(60).default(5),
  /** Concurrent sessions per subject for this issuer's tokens (a stream rule's own limit comes first). */
  maxSessionsPerSubject: sessionLimitsSchema.optional(),
});
export type IssuerConfig = z.infer<typeof issuerSchema>;

const name = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'use [A-Za-z0-9_-], at most 32 characters');

/** One HLS rendition: `copy` passes the publisher's H.264/AAC through; a rung is a libx264 encode. */
const renditionSchema = z.union([
  z.strictObject({ name, copy: z.literal(true) }),
  z.strictObject({
    name,
    height: z.number().int().min(90).max(2160),
    videoBitrateKbps: z.number().int().min(64).max(50_000),
    audioBitrateKbps: z.number().int().min(32).max(512).default(128),
    preset: z
      .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'])
      .default('veryfast'),
  }),
]);
export type RenditionConfig = z.infer<typeof renditionSchema>;

/** Security of the streams whose `app/name` matches `match` (first match wins; default secured). */
export const streamSettingsSchema = z.strictObject({
  publish: z.enum(['secured', 'open']).default('secured'),
  play: z.enum(['secured', 'open']).default('secured'),
  /** Overrides auth.requireExp for these streams. */
  requireExp: z.boolean().optional(),
  /** Refuse tokens whose exp is further than this from their iat (or from now). */
  maxTokenLifetimeSec: z.number().int().positive().optional(),
  /** Keys valid only for these streams (per-stream secrets, per-video keys). */
  keys: z.array(keySchema).default([]),
  /** Concurrent sessions per subject on these streams; per action, before the signing key's or issuer's. */
  maxSessionsPerSubject: sessionLimitsSchema.optional(),
});
export type StreamSettings = z.infer<typeof streamSettingsSchema>;

const streamRuleSchema = streamSettingsSchema.extend({ match: z.string().min(1) }).strict();
export type StreamRuleConfig = z.infer<typeof streamRuleSchema>;

export const configSchema = z.strictObject({
  /** RTMP ingest and playback (OBS, ffmpeg). */
  rtmp: z
    .strictObject({
      host: host.default('0.0.0.0'),
      port: port.default(1935),
      /** A second publisher with a valid token replaces the first instead of being refused. */
      publisherTakeover: z.boolean().default(false),
      /** Largest RTMP message accepted; a bigger one is a protocol error. */
      maxMessageBytes: z
        .number()
        .int()
        .min(64 * 1024)
        .max(16 * 1024 * 1024)
        .default(8 * 1024 * 1024),
      /** A viewer whose socket buffers more than this is cut as too slow. */
      maxViewerBufferBytes: z
        .number()
        .int()
        .min(64 * 1024)
        .default(16 * 1024 * 1024),
      /** Time allowed from TCP connect to an admitted publish or play. */
      admissionTimeoutSec: z.number().positive().max(300).default(10),
      /** Connections waiting for admission (handshake, connect, token check), in all and per client address; more are dropped at accept. */
      maxPendingConnections: z.number().int().min(1).default(1000),
      /** Of those, at most this many from one client address. */
      maxPendingPerAddress: z.number().int().min(1).default(64),
      /** Bytes of the latest GOP kept for fast start of new viewers. */
      gopCacheBytes: z
        .number()
        .int()
        .min(0)
        .default(8 * 1024 * 1024),
      /** RTMPS: a TLS listener beside the plain one (same rules, same sessions). */
      tls: tlsFiles
        .extend({ host: host.default('0.0.0.0'), port: port.default(1936) })
        .strict()
        .optional(),
    })
    .prefault({}),
  /** The public HTTP port: HLS, the player and publisher pages, WebSocket ingest, ingest-key exchange. */
  http: z
    .strictObject({
      host: host.default('0.0.0.0'),
      port: port.default(8080),
      /** Origins allowed to read HLS from a browser; `*` (default) suits token-in-URL players. */
      corsOrigins: z.array(z.string().min(1)).default(['*']),
      /** Proxies whose X-Forwarded-For is believed (addresses or CIDR). */
      trustedProxies: z.array(z.string().min(1)).default([]),
      /** A client must send its request headers within this time (slowloris defence). */
      headersTimeoutSec: z.number().positive().max(120).default(10),
      /** Origins whose pages may show the built-in player in a frame (besides this server); the publisher page and the dashboard never can be framed. */
      playerEmbedOrigins: z
        .array(
          z.string().regex(/^https?:\/\/[^\s;,'"]+$/, 'an origin such as https://site.example'),
        )
        .default([]),
      /** HTTPS and WSS on the HTTP port (tokens must not cross networks in clear text). */
      tls: tlsFiles.optional(),
    })
    .prefault({}),
  /** HLS output: the packager, FFmpeg encoding, renditions, encryption. */
  hls: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** FFmpeg binary; else $STAGEDOOR_FFMPEG, else `ffmpeg` on PATH. */
      ffmpegPath: z.string().min(1).optional(),
      /** Target segment length (seconds); segments start on key frames. */
      segmentSec: z.number().min(0.5).max(10).default(1),
      /** Segments listed in a media playlist. */
      playlistSize: z.number().int().min(2).max(60).default(6),
      /** The ladder: one copy rendition (passthrough, packaged in-process) and/or libx264 rungs encoded by FFmpeg. */
      renditions: z
        .array(renditionSchema)
        .min(1)
        .default([{ name: 'copy', copy: true }]),
      /**
       * The in-process packager: a passthrough stream (one copy rendition of H.264 4:2:0 8-bit
       * and/or AAC, no encryption) is packaged as CMAF with LL-HLS parts in memory, with no FFmpeg.
       */
      packager: z
        .strictObject({
          /** false: FFmpeg packages every stream (MPEG-TS segments, no parts), as before 0.2. */
          enabled: z.boolean().default(true),
          /** Target length of an LL-HLS part (EXT-X-PART-INF PART-TARGET). */
          partTargetSec: z.number().min(0.1).max(2).default(0.2),
        })
        .prefault({}),
      /** AES-128 encryption of segments (FFmpeg's MPEG-TS files; keys served only to viewers with a valid token). */
      encryption: z
        .strictObject({
          enabled: z.boolean().default(false),
          /** A new AES-128 key every this many segments. */
          rotateEverySegments: z.number().int().min(1).default(10),
        })
        .prefault({}),
      /**
       * Compress playlists of 1 KB or more (Brotli or gzip, as the player's Accept-Encoding allows):
       * they carry a pass, and a CDN's token, on every URI and are made per viewer per reload.
       */
      compressPlaylists: z.boolean().default(true),
      /** An HLS viewer that requests nothing for this long is ended (`idle`). */
      viewerIdleSec: z.number().positive().max(3600).default(30),
      /** How long the files of an ended stream stay (players see #EXT-X-ENDLIST), then are removed. */
      cleanupAfterSec: z.number().min(0).max(86_400).default(30),
      /** Grace between SIGTERM and SIGKILL when stopping FFmpeg. */
      stopTimeoutSec: z.number().positive().max(60).default(3),
      /** Longest wait between restarts of a failing FFmpeg. */
      restartBackoffMaxSec: z.number().positive().max(300).default(10),
      /** Viewer passes (`vs=`): see the README, "Passes, restarts and edges". */
      passes: z
        .strictObject({
          /** Keys that seal playlist passes: the first seals, all open. Default: generated once in stateDir. */
          keys: z.array(passKeySchema).default([]),
          /** Keys that sign segment passes, which edges verify alone. Default: generated once in stateDir. */
          edgeKeys: z.array(edgeKeySchema).default([]),
          /** Life of a segment pass, never past the token's exp. Default: 4 segments, at least 8 s. */
          segmentPassSec: z.number().positive().max(3600).optional(),
          /** How long an edge may cache a segment (X-Accel-Expires, CDN-Cache-Control); 0: neither header. Default: the playlist window plus 2 segments. */
          edgeCacheSec: z.number().int().min(0).max(3600).optional(),
          /** A CDN's own token on segment, init and part URIs (akamai, cloudfront, google, bunny) or in signed cookies set with the playlists (cloudfront, google: delivery "cookie"), or a Common Access Token (cat), for the pass window; see docs/cdn.md. */
          cdn: cdnPassSchema.optional(),
        })
        .superRefine((passes, ctx) => {
          for (const list of ['keys', 'edgeKeys'] as const) {
            const kids = passes[list].map((k) => k.kid);
            const repeated = kids.find((kid, i) => kids.indexOf(kid) !== i);
            if (repeated !== undefined)
              ctx.addIssue({
                code: 'custom',
                path: [list],
                message: `kid "${repeated}" is repeated`,
              });
          }
        })
        .prefault({}),
    })
    .refine((hls) => hls.packager.partTargetSec <= hls.segmentSec, {
      path: ['packager', 'partTargetSec'],
      message: 'a part cannot be longer than a segment (hls.segmentSec)',
    })
    .prefault({}),
  /** Per-stream security rules (patterns such as `live/*`); streams no rule matches are secured. */
  streams: z.array(streamRuleSchema).default([]),
  /** WebSocket ingest (browser publishers) on the HTTP port. */
  ws: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Origins whose pages may publish over WebSocket; `*` allows any (the token still decides). */
      allowedOrigins: z.array(z.string().min(1)).default(['*']),
      /** Largest single WebSocket message. */
      maxMessageBytes: z
        .number()
        .int()
        .min(64 * 1024)
        .max(64 * 1024 * 1024)
        .default(4 * 1024 * 1024),
      /** Bytes a connection may have queued toward FFmpeg before it is closed as too fast. */
      maxBufferedBytes: z
        .number()
        .int()
        .min(256 * 1024)
        .default(16 * 1024 * 1024),
      /** A publisher whose media runs this far ahead of the wall clock is closed as too fast. */
      maxAheadSec: z.number().positive().default(10),
    })
    .prefault({}),
  /** The admin API, dashboard, metrics and readiness, on their own port. */
  admin: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: host.default('127.0.0.1'),
      port: port.default(8081),
      /** Static API keys (Authorization: Bearer <key>), besides JWTs whose key or issuer grants `admin`. */
      apiKeys: z
        .array(
          z
            .strictObject({
              name: z.string().min(1),
              key: z.string().min(24).optional(),
              keyFile: z.string().min(1).optional(),
            })
            .refine((k) => (k.key === undefined) !== (k.keyFile === undefined), {
              message: 'exactly one of key, keyFile',
            }),
        )
        .default([]),
    })
    .prefault({}),
  /** Where media and kept HLS windows are written. */
  mediaDir: z.string().min(1).default('media'),
  /** Run-time state that survives restarts: revocations, used tokens, stream security changes. */
  stateDir: z.string().min(1).default('.stagedoor/state'),
  /**
   * Several nodes sharing control state through Redis. Absent: one node, nothing shared. Shared
   * today: one publisher per stream (a lease each node renews) and revocations (every node cuts
   * its matching sessions).
   */
  cluster: z
    .strictObject({
      /** The Redis the nodes share. */
      redis: z.strictObject({
        /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
        url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'),
        /** Prefix of every key and channel: several deployments can share one Redis. */
        keyPrefix: z.string().min(1).default('stagedoor:'),
      }),
      /** This node's name in the cluster (leases, logs, session ids `s_…@<node>`). Default: host name and process id. */
      nodeId: z
        .string()
        .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits and . _ : - (at most 100)')
        .optional(),
      /** A node that stops renewing its publishers' leases (it died) frees their streams after this. */
      leaseTtlSec: z.number().min(2).max(300).default(10),
      /** Longest wait for one Redis command before it counts as Redis being away. */
      commandTimeoutSec: z.number().min(0.1).max(30).default(2),
      /**
       * The internal listener through which nodes read each other's media, so that any node serves
       * any viewer: a viewer of a stream published on another node is authorised here and its
       * playlists, segments and parts fetched from the owner. Only nodes can use it: every request is
       * signed with `secret` (HMAC-SHA256). Bind it to the cluster's private network, never the public one.
       */
      internal: z
        .strictObject({
          /** Address to listen on (a private interface). */
          host: z.string().min(1).default('127.0.0.1'),
          port: z.number().int().min(0).max(65_535),
          /** How the other nodes reach this one. Default: `http://<host>:<port>`. */
          url: z
            .string()
            .regex(/^https?:\/\/[^/]+$/, 'http(s)://host:port, no path')
            .optional(),
          /** Shared by every node (at least 32 characters; `STAGEDOOR_CLUSTER__INTERNAL__SECRET`). */
          secret: z.string().min(32, 'at least 32 characters'),
          /** Media fetched from owners kept in memory for this node's viewers (MB). */
          cacheMb: z.number().int().min(1).max(4096).default(64),
        })
        .optional(),
    })
    .optional(),
  /** Logs (JSON lines on stdout unless `destination` is set). */
  log: z
    .strictObject({
      /** Lowest level written. */
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /** `stdout`, or a file the JSON lines are appended to. */
      destination: z.string().min(1).default('stdout'),
      /** Human-readable lines: `auto` when stdout is a terminal. */
      pretty: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    })
    .prefault({}),
  /** Who may publish and play: keys, OpenID issuers, token rules. */
  auth: z
    .strictObject({
      /** Static keys (HS secrets, public keys as PEM or JWK, or files), each with the actions its tokens may have. */
      keys: z.array(keySchema).default([]),
      /** OpenID issuers whose JWKS keys are trusted. */
      issuers: z.array(issuerSchema).default([]),
      /** Most entries in each `access.allow` list of a token. */
      maxAccessRuleEntries: z.number().int().min(1).max(100).default(5),
      /** Tokens whose exp lies further ahead than this are refused (CLAIM_INVALID): no "forever" tokens. */
      maxTokenLifetimeSec: z
        .number()
        .int()
        .positive()
        .default(366 * 86_400),
      /** A publish token's `jti` may be used once (remembered until its exp). */
      singleUsePublish: z.boolean().default(false),
      /** Seconds of clock skew allowed on exp, nbf and iat. */
      clockToleranceSec: z.number().min(0).max(300).default(0),
      /** Refuse tokens without exp (`CLAIM_INVALID`). */
      requireExp: z.boolean().default(true),
      /** Verified tokens kept in memory (each until its exp). */
      cacheMaxEntries: z.number().int().min(0).default(10_000),
      /** Short ingest keys exchanged for long publish tokens (POST /ingest-keys/…). */
      ingestKeys: z
        .strictObject({
          /** Live keys held at most; past it an exchange is refused 503 INGEST_KEYS_FULL. */
          maxKeys: z.number().int().min(1).max(1_000_000).default(10_000),
          /** Exchanges a minute from one client address, and for one subject (429 RATE_LIMITED past it). */
          perAddressPerMinute: z.number().int().min(1).default(30),
          /** Exchanges a minute for one subject, on each node. */
          perSubjectPerMinute: z.number().int().min(1).default(10),
        })
        .prefault({}),
    })
    .prefault({}),
  /** The startup banner: how to publish and play, with tokens. */
  banner: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Host name printed in the ready-made URLs. */
      publicHost: host.default('localhost'),
      /** App of the banner's example stream. */
      app: z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/)
        .default('live'),
      /** Name of the banner's example stream. */
      stream: z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/)
        .default('cam1'),
      /** Lifetime of the banner's tokens (seconds). */
      tokenTtlSec: z.number().int().positive().default(3600),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
