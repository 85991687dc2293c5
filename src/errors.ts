/**
 * Every refusal and failure in Stagedoor carries one of these stable codes. Each code knows how it
 * is spoken on every transport: HTTP status, WebSocket close code (4000 + HTTP status) and the
 * RTMP onStatus level. Tests and clients rely on the code, never on message text.
 */
export const ERROR_CODES = {
  TOKEN_MISSING: { status: 401, message: 'no token was presented' },
  TOKEN_MALFORMED: { status: 401, message: 'the token is not a well-formed signed JWT' },
  TOKEN_EXPIRED: { status: 401, message: 'the token has expired' },
  TOKEN_NOT_YET_VALID: {
    status: 401,
    message: 'the token is not valid yet (nbf or iat in the future)',
  },
  SIGNATURE_INVALID: { status: 401, message: 'the token signature does not verify' },
  KEY_UNKNOWN: { status: 401, message: 'no trusted key matches the token' },
  ALG_NOT_ALLOWED: { status: 401, message: "the token's alg is not the alg pinned by its key" },
  ISSUER_INVALID: { status: 401, message: 'the token issuer is not trusted' },
  AUDIENCE_INVALID: { status: 401, message: 'the token audience is not accepted' },
  CLAIM_INVALID: { status: 401, message: 'a required claim is missing or has the wrong type' },
  TOKEN_REVOKED: { status: 401, message: 'the token has been revoked' },
  TOKEN_REUSED: { status: 401, message: 'this single-use token has been used already' },
  INGEST_KEY_UNKNOWN: {
    status: 401,
    message: 'the ingest key is unknown or has expired; exchange the token for a new one',
  },
  SCOPE_DENIED: { status: 403, message: 'the token does not grant this action' },
  STREAM_DENIED: { status: 403, message: 'the token does not grant this stream' },
  IP_DENIED: { status: 403, message: 'the client address is not allowed by the token' },
  ORIGIN_DENIED: { status: 403, message: 'the request origin is not allowed by the token' },
  COUNTRY_DENIED: { status: 403, message: 'the client country is not allowed by the token' },
  SESSION_LIMIT: {
    status: 403,
    message: 'the subject holds as many concurrent sessions as its limit allows',
  },
  STREAM_BUSY: { status: 409, message: 'the stream already has a publisher' },
  RATE_LIMITED: {
    status: 429,
    message: 'too many requests of this kind from this address or subject; retry after Retry-After',
  },
  STREAM_NAME_INVALID: { status: 400, message: 'app and stream names must match [A-Za-z0-9_-]+' },
  PROTOCOL_ERROR: { status: 400, message: 'the client broke the protocol' },
  REQUEST_INVALID: {
    status: 400,
    message: 'the request is not valid: see the message for the field',
  },
  REQUEST_TOO_LARGE: {
    status: 413,
    message: 'the request body is larger than this server takes',
  },
  HLS_REQUEST_INVALID: {
    status: 400,
    message:
      'the LL-HLS request is invalid (_HLS_part without _HLS_msn, not a number, or too far ahead)',
  },
  KEY_INVALID: { status: 400, message: 'the key material sent is not a usable key' },
  KEY_CONFLICT: { status: 409, message: 'the key id is already in use' },
  STREAM_RULE_INVALID: {
    status: 503,
    message: "the stream's security rule could not be loaded; an operator must fix or remove it",
  },
  INGEST_KEYS_FULL: {
    status: 503,
    message: 'the server holds as many ingest keys as it may; retry after Retry-After',
  },
  CLUSTER_UNAVAILABLE: {
    status: 503,
    message: 'the cluster store (Redis) cannot be reached; try again shortly',
  },
  NODE_CREDENTIAL_INVALID: {
    status: 401,
    message: "only this cluster's nodes may use the internal listener (a signed request)",
  },
  NODE_UNREACHABLE: {
    status: 503,
    message: 'the cluster node that holds this did not answer; try again shortly',
  },
  HLS_WAIT_TIMEOUT: {
    status: 503,
    message: 'the playlist update or part asked for did not appear in time; ask again',
  },
  NOT_FOUND: { status: 404, message: 'not found' },
  CONFIG_INVALID: { status: 500, message: 'the configuration is invalid' },
  STATE_UNREADABLE: {
    status: 500,
    message: 'a state file cannot be read; the server does not start without it',
  },
  FFMPEG_MISSING: { status: 500, message: 'FFmpeg is not installed or not working' },
  PORT_UNAVAILABLE: {
    status: 500,
    message: 'a port the configuration names cannot be listened on (in use, or not permitted)',
  },
  SESSION_ENDED: {
    status: 401,
    message: 'this viewer session has ended; open the playlist again with a token',
  },
  INTERNAL_ERROR: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];

export interface ErrorDetails {
  /** The claim at fault, when a claim is. */
  claim?: string;
  /** When asking again may succeed (HTTP `Retry-After`), in seconds. */
  retryAfterSec?: number;
  cause?: unknown;
}

/** The one error base: a stable code plus a human message; the original error stays as `cause`. */
export class StagedoorError extends Error {
  readonly code: ErrorCode;
  readonly claim: string | undefined;
  readonly retryAfterSec: number | undefined;

  constructor(code: ErrorCode, message?: string, details: ErrorDetails = {}) {
    super(
      message ?? ERROR_CODES[code].message,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = 'StagedoorError';
    this.code = code;
    this.claim = details.claim;
    this.retryAfterSec =
      details.retryAfterSec === undefined
        ? undefined
        : Math.max(1, Math.ceil(details.retryAfterSec));
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].status;
  }

  /** WebSocket close code for this refusal: 4000 + its HTTP status (4401, 4403, 4409 …). */
  get wsCloseCode(): number {
    return 4000 + this.httpStatus;
  }

  /** The JSON body sent to HTTP clients. */
  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isStagedoorError(error: unknown): error is StagedoorError {
  return error instanceof StagedoorError;
}

/** Wraps anything thrown into a StagedoorError, keeping coded errors as they are. */
export function toStagedoorError(
  error: unknown,
  fallback: ErrorCode = 'INTERNAL_ERROR',
): StagedoorError {
  if (error instanceof StagedoorError) return error;
  return new StagedoorError(fallback, undefined, { cause: error });
}

/** RTMP onStatus code used when refusing a publish or play. */
export function rtmpStatusCode(action: 'publish' | 'play', code: ErrorCode): string {
  if (action === 'publish') {
    return code === 'STREAM_BUSY' || code === 'STREAM_NAME_INVALID'
      ? 'NetStream.Publish.BadName'
      : 'NetStream.Publish.Denied';
  }
  return code === 'STREAM_NAME_INVALID' ? 'NetStream.Play.StreamNotFound' : 'NetStream.Play.Failed';
}
