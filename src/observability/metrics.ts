import { createRequire } from 'node:module';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { formatStreamPath } from '../core/stream-path.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import type { IssuerStore } from '../auth/oidc/issuer-store.js';
import type { OutputHealthSource } from './output-health.js';
import { registerOutputMetrics } from './output-metrics.js';
import { TrafficTotals } from './traffic-totals.js';

export interface MetricsSources {
  registry: SessionRegistry;
  issuers: IssuerStore;
  outputs: OutputHealthSource | undefined;
}

/** Latency buckets (seconds) for work done within a request: admission, an HLS response. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** From a publish to its first playable playlist: FFmpeg's start plus the first segment or two. */
const PLAYABLE_BUCKETS = [0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 20, 30];

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/**
 * Prometheus metrics, on a registry of their own (never prom-client's global one). Counters end in
 * `_total`, durations are histograms in seconds, and the process and Node metrics keep their
 * standard names (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`) for stock dashboards.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly admissions = new Counter({
    name: 'stagedoor_admissions_total',
    help: 'Sessions admitted',
    labelNames: ['protocol', 'kind'] as const,
    registers: [this.registry],
  });
  readonly admissionDuration = new Histogram({
    name: 'stagedoor_admission_duration_seconds',
    help: 'Time to decide a publish or play request (token checks, stream lease), admitted or refused',
    labelNames: ['protocol', 'action', 'outcome'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: 'stagedoor_refusals_total',
    help: 'Publish and play requests refused, by reason code',
    labelNames: ['protocol', 'action', 'code'] as const,
    registers: [this.registry],
  });
  readonly sessionEnds = new Counter({
    name: 'stagedoor_session_ends_total',
    help: 'Sessions ended, by reason',
    labelNames: ['protocol', 'kind', 'reason'] as const,
    registers: [this.registry],
  });
  readonly expiryDisconnects = new Counter({
    name: 'stagedoor_expiry_disconnects_total',
    help: 'Sessions cut because their token expired',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  });
  readonly refreshes = new Counter({
    name: 'stagedoor_token_refreshes_total',
    help: 'Live sessions moved to a new token without reconnecting',
    labelNames: ['protocol', 'kind'] as const,
    registers: [this.registry],
  });
  readonly kicks = new Counter({
    name: 'stagedoor_kicks_total',
    help: 'Sessions kicked by an operator',
    registers: [this.registry],
  });
  readonly ffmpegRestarts = new Counter({
    name: 'stagedoor_ffmpeg_restarts_total',
    help: 'FFmpeg restarts after a crash',
    registers: [this.registry],
  });
  readonly hlsRequests = new Counter({
    name: 'stagedoor_hls_requests_total',
    help: 'HLS requests served or refused',
    labelNames: ['kind', 'status'] as const,
    registers: [this.registry],
  });
  readonly hlsRequestDuration = new Histogram({
    name: 'stagedoor_hls_request_duration_seconds',
    help: 'HLS responses from request to last byte handed to the socket, by kind',
    labelNames: ['kind'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  });
  readonly publishToPlayable = new Histogram({
    name: 'stagedoor_publish_to_playable_seconds',
    help: "From a publisher's admission to its stream's first playable HLS playlist",
    buckets: PLAYABLE_BUCKETS,
    registers: [this.registry],
  });

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry });
    const { registry, issuers, outputs } = sources;
    new Gauge({
      name: 'stagedoor_build_info',
      help: 'Always 1: the running version and Node.js',
      labelNames: ['version', 'nodejs'] as const,
      registers: [this.registry],
    }).set({ version, nodejs: process.versions.node }, 1);
    new Gauge({
      name: 'stagedoor_sessions',
      help: 'Live sessions',
      labelNames: ['kind', 'protocol'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of registry.list()) this.inc({ kind: s.kind, protocol: s.protocol });
      },
    });
    new Counter({
      name: 'stagedoor_jwks_fetches_total',
      help: 'JWKS fetch attempts per issuer',
      labelNames: ['issuer'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const i of issuers.list()) this.inc({ issuer: i.issuer }, i.keys.fetches);
      },
    });
    new Gauge({
      name: 'stagedoor_jwks_age_seconds',
      help: 'Age of the keys held per issuer (-1: none fetched yet)',
      labelNames: ['issuer'] as const,
      registers: [this.registry],
      collect() {
        for (const i of issuers.list())
          this.set(
            { issuer: i.issuer },
            i.keys.fetchedAt === undefined ? -1 : (Date.now() - i.keys.fetchedAt) / 1000,
          );
      },
    });
    this.#registerTraffic(registry);
    if (outputs) registerOutputMetrics(this.registry, outputs);
    registry.onChange((event, session, reason) => {
      if (event === 'start') {
        this.admissions.inc({ protocol: session.protocol, kind: session.kind });
        return;
      }
      if (event === 'refresh') {
        this.refreshes.inc({ protocol: session.protocol, kind: session.kind });
        return;
      }
      this.sessionEnds.inc({
        protocol: session.protocol,
        kind: session.kind,
        reason: reason ?? 'unknown',
      });
      if (reason === 'expired') this.expiryDisconnects.inc({ protocol: session.protocol });
      if (reason === 'kicked') this.kicks.inc();
    });
  }

  /** Bytes received from publishers and sent to players, by protocol and stream, ended sessions included. */
  #registerTraffic(registry: SessionRegistry): void {
    const totals = new TrafficTotals();
    registry.onChange((event, session) => {
      if (event === 'end')
        totals.addEnded(session.protocol, formatStreamPath(session.stream), session);
    });
    const live = () =>
      totals.withLive(
        registry.list().map((s) => ({
          protocol: s.protocol,
          stream: formatStreamPath(s.stream),
          bytesIn: s.bytesIn,
          bytesOut: s.bytesOut,
        })),
      );
    const directions = [
      [
        'stagedoor_received_bytes_total',
        'received from publishers (media and protocol)',
        'bytesIn',
      ],
      [
        'stagedoor_sent_bytes_total',
        'sent to players (playlists, segments, keys, RTMP media)',
        'bytesOut',
      ],
    ] as const;
    for (const [name, what, field] of directions)
      new Counter({
        name,
        help: `Bytes ${what}, by protocol and stream`,
        labelNames: ['protocol', 'stream'] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const t of live())
            if (t[field] > 0) this.inc({ protocol: t.protocol, stream: t.stream }, t[field]);
        },
      });
  }
}
