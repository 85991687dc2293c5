import { readFileSync } from 'node:fs';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { SessionRegistry } from '../sessions/session-registry.js';
import type { IssuerStore } from '../auth/oidc/issuer-store.js';
import type { OutputManager } from '../outputs/output-manager.js';

const CLOCK_TICKS = 100; // Linux USER_HZ

/** CPU seconds a process has used, from /proc (undefined if it is gone or not Linux). */
function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

export interface MetricsSources {
  registry: SessionRegistry;
  issuers: IssuerStore;
  outputs: Pick<OutputManager, 'list'> | undefined;
}

/** Prometheus metrics, on a registry of their own (never prom-client's global one). */
export class Metrics {
  readonly registry = new Registry();
  readonly admissions = new Counter({
    name: 'stagedoor_admissions_total',
    help: 'Sessions admitted',
    labelNames: ['protocol', 'kind'] as const,
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

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry, prefix: 'stagedoor_' });
    const { registry, issuers, outputs } = sources;
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
    new Gauge({
      name: 'stagedoor_ffmpeg_processes',
      help: 'Running FFmpeg processes',
      registers: [this.registry],
      collect() {
        this.set(outputs?.list().filter((t) => t.pid !== undefined).length ?? 0);
      },
    });
    new Gauge({
      name: 'stagedoor_ffmpeg_cpu_seconds',
      help: 'CPU seconds used by the running FFmpeg processes',
      registers: [this.registry],
      collect() {
        let total = 0;
        for (const t of outputs?.list() ?? [])
          if (t.pid !== undefined) total += processCpuSeconds(t.pid) ?? 0;
        this.set(total);
      },
    });
    new Gauge({
      name: 'stagedoor_jwks_fetches',
      help: 'JWKS fetch attempts per issuer since start',
      labelNames: ['issuer'] as const,
      registers: [this.registry],
      collect() {
        for (const i of issuers.list()) this.set({ issuer: i.issuer }, i.keys.fetches);
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
}
