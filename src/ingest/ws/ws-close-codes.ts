import type { EndReason } from '../../sessions/session.js';

/** How a WebSocket publisher's session end is told to the client: close code and reason. */
export function closeFrameFor(reason: EndReason): { code: number; reason: string } {
  switch (reason) {
    case 'expired':
      return { code: 4401, reason: 'TOKEN_EXPIRED' };
    case 'revoked':
      return { code: 4401, reason: 'TOKEN_REVOKED' };
    case 'key-retired':
      return { code: 4401, reason: 'KEY_UNKNOWN' };
    case 'security-changed':
      return { code: 4403, reason: 'SECURITY_CHANGED' };
    case 'kicked':
      return { code: 4403, reason: 'KICKED' };
    case 'taken-over':
      return { code: 4409, reason: 'TAKEN_OVER' };
    case 'too-fast':
    case 'slow-consumer':
      return { code: 4429, reason: 'INGEST_TOO_FAST' };
    case 'protocol-error':
      return { code: 4400, reason: 'PROTOCOL_ERROR' };
    case 'error':
      return { code: 4500, reason: 'TRANSCODER_FAILED' };
    case 'shutdown':
      return { code: 1001, reason: 'SHUTDOWN' };
    default:
      return { code: 1000, reason: reason.toUpperCase().replace(/-/g, '_') };
  }
}
