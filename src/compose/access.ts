import { Admission } from '../access/admission.js';
import type { AuthArea } from './auth.js';
import type { MediaArea } from './media.js';
import type { ObservabilityArea } from './observability.js';
import type { SessionsArea } from './sessions.js';
import type { ClusterArea } from './cluster.js';

export interface AccessArea {
  admission: Admission;
}

/** The one admission path every protocol asks (RTMP, WebSocket, HLS, the ingest-key exchange). */
export function buildAccess(
  auth: AuthArea,
  sessions: SessionsArea,
  media: MediaArea,
  observability: ObservabilityArea,
  cluster: Pick<ClusterArea, 'slots'>,
): AccessArea {
  return {
    admission: new Admission({
      authenticator: auth.authenticator,
      audit: observability.audit,
      hub: media.hub,
      leases: media.leases,
      registry: sessions.registry,
      // Concurrent sessions per subject: the cluster's (Redis), else this node's (in memory).
      slots: cluster.slots,
      metrics: observability.metrics,
    }),
  };
}
