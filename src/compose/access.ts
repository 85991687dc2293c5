import { Admission } from '../access/admission.js';
import type { AuthArea } from './auth.js';
import type { MediaArea } from './media.js';
import type { ObservabilityArea } from './observability.js';
import type { SessionsArea } from './sessions.js';

export interface AccessArea {
  admission: Admission;
}

/** The one admission path every protocol asks (RTMP, WebSocket, HLS, the ingest-key exchange). */
export function buildAccess(
  auth: AuthArea,
  sessions: SessionsArea,
  media: MediaArea,
  observability: ObservabilityArea,
): AccessArea {
  return {
    admission: new Admission({
      authenticator: auth.authenticator,
      audit: observability.audit,
      hub: media.hub,
      leases: media.leases,
      registry: sessions.registry,
      metrics: observability.metrics,
    }),
  };
}
