import { StagedoorError, type ErrorCode } from '../errors.js';

/**
 * Why a session ended, and how each reason is told on every transport — as `errors.ts` does for
 * refusal codes. `ws`: the close frame a WebSocket publisher gets. `later`: the refusal an HLS
 * viewer's later requests on its pass get (absent: the pass may reopen a session, as after `idle`).
 * The audit log and the metric `stagedoor_session_ends_total{reason}` use the reason itself.
 */
export const END_REASONS = {
  /** The token's exp passed. */
  expired: { ws: [4401, 'TOKEN_EXPIRED'], later: ['TOKEN_EXPIRED'] },
  /** An operator kicked the session. */
  kicked: {
    ws: [4403, 'KICKED'],
    later: ['SESSION_ENDED', 'this viewer was disconnected by an operator'],
  },
  /** Its token's jti or sub was revoked. */
  revoked: { ws: [4401, 'TOKEN_REVOKED'], later: ['TOKEN_REVOKED'] },
  /** The key that verified its token was replaced or removed (a stream's keys, an issuer's JWKS). */
  'key-retired': {
    ws: [4401, 'KEY_UNKNOWN'],
    later: ['KEY_UNKNOWN', 'the key that verified this token is no longer trusted'],
  },
  /** Its stream's rule no longer allows it (secured, a shorter lifetime, exp now required). */
  'security-changed': {
    ws: [4403, 'SECURITY_CHANGED'],
    later: ['SESSION_ENDED', "the stream's security changed; open the playlist again with a token"],
  },
  /** Its stream's publisher left (players). */
  'publisher-gone': { ws: [1000, 'PUBLISHER_GONE'] },
  'client-closed': { ws: [1000, 'CLIENT_CLOSED'] },
  /** Another admitted publisher took the stream over (`rtmp.publisherTakeover`). */
  'taken-over': { ws: [4409, 'TAKEN_OVER'] },
  /**
   * A newer session of its subject took its slot (`maxSessionsPerSubject.onLimit: replace-oldest`):
   * an HLS viewer must present its token again, which cuts the then-oldest in turn.
   */
  'limit-replaced': {
    ws: [4403, 'SESSION_LIMIT'],
    later: [
      'SESSION_LIMIT',
      'a newer session of this subject replaced this viewer; open the playlist again with a token',
    ],
  },
  /** A player whose socket buffered more than `rtmp.maxViewerBufferBytes`. */
  'slow-consumer': { ws: [4429, 'INGEST_TOO_FAST'] },
  'protocol-error': { ws: [4400, 'PROTOCOL_ERROR'] },
  /** FFmpeg failed on a stream it cannot follow, or 5 times in a row. */
  error: { ws: [4500, 'TRANSCODER_FAILED'] },
  /** An HLS viewer that stopped requesting; its pass opens a new session when it comes back. */
  idle: { ws: [1000, 'IDLE'] },
  /** A publisher running ahead of the clock, or outrunning FFmpeg. */
  'too-fast': { ws: [4429, 'INGEST_TOO_FAST'] },
  /** A WebSocket token refresh was refused (the frame then carries the refusal's own code). */
  'refresh-refused': { ws: [1000, 'REFRESH_REFUSED'] },
  shutdown: { ws: [1001, 'SHUTDOWN'], later: ['SESSION_ENDED'] },
} as const satisfies Record<
  string,
  { ws: readonly [number, string]; later?: readonly [ErrorCode, string?] }
>;

export type EndReason = keyof typeof END_REASONS;

/** The close frame that tells a WebSocket client why its session ended. */
export function closeFrameFor(reason: EndReason): { code: number; reason: string } {
  const [code, text] = END_REASONS[reason].ws;
  return { code, reason: text };
}

/** The refusal for later requests of a viewer whose session ended so, or undefined when it may come back. */
export function refusalAfter(reason: EndReason): StagedoorError | undefined {
  const later: readonly [ErrorCode, string?] | undefined = (
    END_REASONS[reason] as { later?: readonly [ErrorCode, string?] }
  ).later;
  return later ? new StagedoorError(later[0], later[1]) : undefined;
}
