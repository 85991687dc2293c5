import { describe, expect, it } from 'vitest';
import {
  ALL_ERROR_CODES,
  ERROR_CODES,
  StagedoorError,
  rtmpStatusCode,
  toStagedoorError,
} from '../../src/errors.js';

describe('error codes', () => {
  it('lists every code with its HTTP status (the contract clients rely on)', () => {
    expect(Object.fromEntries(ALL_ERROR_CODES.map((c) => [c, ERROR_CODES[c].status]))).toEqual({
      TOKEN_MISSING: 401,
      TOKEN_MALFORMED: 401,
      TOKEN_EXPIRED: 401,
      TOKEN_NOT_YET_VALID: 401,
      SIGNATURE_INVALID: 401,
      KEY_UNKNOWN: 401,
      ALG_NOT_ALLOWED: 401,
      ISSUER_INVALID: 401,
      AUDIENCE_INVALID: 401,
      CLAIM_INVALID: 401,
      TOKEN_REVOKED: 401,
      TOKEN_REUSED: 401,
      INGEST_KEY_UNKNOWN: 401,
      SCOPE_DENIED: 403,
      STREAM_DENIED: 403,
      IP_DENIED: 403,
      ORIGIN_DENIED: 403,
      COUNTRY_DENIED: 403,
      SESSION_LIMIT: 403,
      STREAM_BUSY: 409,
      RATE_LIMITED: 429,
      STREAM_NAME_INVALID: 400,
      PROTOCOL_ERROR: 400,
      REQUEST_INVALID: 400,
      REQUEST_TOO_LARGE: 413,
      HLS_REQUEST_INVALID: 400,
      KEY_INVALID: 400,
      KEY_CONFLICT: 409,
      STREAM_RULE_INVALID: 503,
      INGEST_KEYS_FULL: 503,
      CLUSTER_UNAVAILABLE: 503,
      NODE_UNREACHABLE: 503,
      NODE_CREDENTIAL_INVALID: 401,
      HLS_WAIT_TIMEOUT: 503,
      NOT_FOUND: 404,
      CONFIG_INVALID: 500,
      STATE_UNREADABLE: 500,
      FFMPEG_MISSING: 500,
      PORT_UNAVAILABLE: 500,
      SESSION_ENDED: 401,
      INTERNAL_ERROR: 500,
    });
  });

  it('speaks each code on every transport', () => {
    const error = new StagedoorError('STREAM_DENIED');
    expect(error.httpStatus).toBe(403);
    expect(error.wsCloseCode).toBe(4403);
    expect(error.toJSON()).toEqual({
      error: { code: 'STREAM_DENIED', message: ERROR_CODES.STREAM_DENIED.message },
    });
    expect(rtmpStatusCode('publish', 'TOKEN_EXPIRED')).toBe('NetStream.Publish.Denied');
    expect(rtmpStatusCode('publish', 'STREAM_BUSY')).toBe('NetStream.Publish.BadName');
    expect(rtmpStatusCode('play', 'TOKEN_EXPIRED')).toBe('NetStream.Play.Failed');
  });

  it('keeps the original error as cause when wrapping', () => {
    const original = new Error('boom');
    const wrapped = toStagedoorError(original);
    expect(wrapped.code).toBe('INTERNAL_ERROR');
    expect(wrapped.cause).toBe(original);
    const coded = new StagedoorError('KEY_UNKNOWN');
    expect(toStagedoorError(coded)).toBe(coded);
  });
});
