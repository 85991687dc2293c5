import type { Logger } from '../log/logger.js';
import { Metrics } from '../observability/metrics.js';
import { Audit } from '../observability/audit.js';
import type { AuthArea } from './auth.js';
import type { OutputsArea } from './outputs.js';
import type { SessionsArea } from './sessions.js';

export interface ObservabilityArea {
  metrics: Metrics;
  audit: Audit;
}

/** Prometheus metrics and the audit trail; they read the other areas, never drive them. */
export function buildObservability(
  log: Logger,
  auth: AuthArea,
  sessions: SessionsArea,
  outputs: OutputsArea,
): ObservabilityArea {
  const metrics = new Metrics({
    registry: sessions.registry,
    issuers: auth.issuers,
    outputs: outputs.outputs,
  });
  outputs.outputs?.onRestart(() => metrics.ffmpegRestarts.inc());
  outputs.outputs?.onPlayable((_stream, ms) => metrics.publishToPlayable.observe(ms / 1000));
  const audit = new Audit(log.child({ component: 'audit' }), sessions.registry, metrics);
  return { metrics, audit };
}
