import { createHash } from 'node:crypto';
import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import type { IssuerStore, TrustedIssuer } from './oidc/issuer-store.js';
import { StagedoorError } from '../errors.js';
import type { Grant } from './grant.js';
import type { KeyStore } from './key-store.js';
import { readScopes } from './policy.js';
import { readMaxSessionsClaim } from './session-limit.js';
import type { TrustedKey } from './import-key.js';
import { looksLikeCat, parseCat } from './cat/cat-token.js';

export interface VerifyOptions {
  clockToleranceSec: number;
  requireExp: boolean;
}

/** Where trust comes from: static keys, and OpenID issuers found by a token's `iss`. */
export interface TrustSources {
  keys: KeyStore;
  issuers?: IssuerStore | undefined;
}

/** Largest token accepted; anything longer is refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/** Short stable id of a token for logs and revocation when it has no jti (never the token). */
export function tokenHash(token: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(token).digest('base64url').slice(0, 22)}`;
}

/**
 * What identifies a JWT without a `jti`: its signing input (`header.payload`), which the signature
 * covers. The signature segment is not part of it: its spare base64url bits (and a high-S ECDSA twin)
 * would make copies of one token that count as others (session limits, viewer identity).
 */
function jwtContent(token: string): string {
  return token.slice(0, token.lastIndexOf('.'));
}

function readHeader(token: string): ProtectedHeaderParameters {
  if (token.length > MAX_TOKEN_LENGTH)
    throw new StagedoorError(
      'TOKEN_MALFORMED',
      `tokens are at most ${MAX_TOKEN_LENGTH} characters`,
    );
  if (!COMPACT_JWS.test(token))
    throw new StagedoorError('TOKEN_MALFORMED', 'not a compact JWS (three base64url parts)');
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (cause) {
    throw new StagedoorError('TOKEN_MALFORMED', 'the token header is not base64url JSON', {
      cause,
    });
  }
  // No JWS extensions are accepted: a critical one would be ignored, unencoded payloads are not JWTs.
  if ('crit' in header)
    throw new StagedoorError('TOKEN_MALFORMED', 'crit header parameters are not supported');
  if ('b64' in header)
    throw new StagedoorError('TOKEN_MALFORMED', 'unencoded (b64) payloads are not accepted');
  return header;
}

/** jose's errors, translated to our codes at the boundary; the original stays as cause. */
function translateJoseError(error: unknown): StagedoorError {
  if (error instanceof StagedoorError) return error;
  if (error instanceof joseErrors.JWTExpired)
    return new StagedoorError('TOKEN_EXPIRED', undefined, { claim: 'exp', cause: error });
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (claim === 'nbf' && error.reason === 'check_failed')
      return new StagedoorError('TOKEN_NOT_YET_VALID', undefined, { claim, cause: error });
    if (claim === 'iss' && error.reason === 'check_failed')
      return new StagedoorError('ISSUER_INVALID', undefined, { claim, cause: error });
    if (claim === 'aud' && error.reason === 'check_failed')
      return new StagedoorError('AUDIENCE_INVALID', undefined, { claim, cause: error });
    return new StagedoorError('CLAIM_INVALID', `claim ${claim}: ${error.message}`, {
      claim,
      cause: error,
    });
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return new StagedoorError('SIGNATURE_INVALID', undefined, { cause: error });
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return new StagedoorError('ALG_NOT_ALLOWED', undefined, { cause: error });
  // The alg was already matched to a key; what is left unsupported is a header such as `crit`.
  if (error instanceof joseErrors.JOSENotSupported)
    return new StagedoorError('TOKEN_MALFORMED', error.message, { cause: error });
  if (error instanceof joseErrors.JWTInvalid)
    return new StagedoorError('CLAIM_INVALID', error.message, { cause: error });
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JOSEError) {
    return new StagedoorError('TOKEN_MALFORMED', undefined, { cause: error });
  }
  return new StagedoorError('INTERNAL_ERROR', undefined, { cause: error });
}

/**
 * Verifies a compact JWT against the trusted keys and returns what it grants. The key is chosen
 * by `kid` (or by `alg` among keys without a kid) and pins the algorithm; claims are checked with
 * the configured tolerance. Throws a StagedoorError with a DESIGN.md reason code.
 */
export async function verifyToken(
  token: string,
  { keys, issuers }: TrustSources,
  options: VerifyOptions,
  now = Date.now(),
): Promise<Grant> {
  if (looksLikeCat(token)) return verifyCat(token, keys, issuers, options, now);
  const header = readHeader(token);
  if (issuers && issuers.size > 0) {
    let claimedIssuer: unknown;
    try {
      claimedIssuer = decodeJwt(token).iss;
    } catch (cause) {
      throw new StagedoorError('TOKEN_MALFORMED', 'the token payload is not base64url JSON', {
        cause,
      });
    }
    const issuer = issuers.get(claimedIssuer);
    if (issuer) return verifyIssuerToken(token, header, issuer, options, now);
  }
  const candidates = keys.candidatesFor(header);
  let lastError: unknown;
  for (const key of candidates) {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key.key, {
        algorithms: [key.alg],
        clockTolerance: options.clockToleranceSec,
        requiredClaims: options.requireExp ? ['exp'] : [],
        currentDate: new Date(now),
      }));
    } catch (error) {
      lastError = error;
      // Only a signature mismatch means "try the next key with the same alg"; anything else is final.
      if (error instanceof joseErrors.JWSSignatureVerificationFailed) continue;
      throw translateJoseError(error);
    }
    return grantFrom(jwtContent(token), payload, options, now, staticSigner(key));
  }
  throw translateJoseError(lastError);
}

/** What a static or stream key contributes to the grants of its tokens. */
function staticSigner(key: TrustedKey): Signer {
  return {
    kid: key.kid,
    keyActions: key.actions,
    subjectIsStream: key.subject === 'stream',
    subjectRequired: key.requireSub,
    keySource: key.source,
    signer: { kind: 'static', key },
    keyStreams: key.streams,
    keySessionLimits: key.sessionLimits,
    scoped: false,
  };
}

/**
 * A Common Access Token (CTA-5007: a CWT in COSE): verified by a configured key chosen by its `kid`
 * (or among the keys pinned to its algorithm) exactly as a JWT is, its claims mapped to a JWT's, so
 * the same grant and refusal codes follow. Issuers' (OpenID) keys verify JWTs only.
 */
function verifyCat(
  token: string,
  keys: KeyStore,
  issuers: TrustSources['issuers'],
  options: VerifyOptions,
  now: number,
): Grant {
  if (token.length > MAX_TOKEN_LENGTH)
    throw new StagedoorError(
      'TOKEN_MALFORMED',
      `tokens are at most ${MAX_TOKEN_LENGTH} characters`,
    );
  const cat = parseCat(token);
  const candidates = keys.candidatesFor({
    alg: cat.alg,
    ...(cat.kid !== undefined ? { kid: cat.kid } : {}),
  });
  const key = candidates.find((k) => cat.verifiedBy(k));
  if (!key) throw new StagedoorError('SIGNATURE_INVALID');
  // An OpenID issuer's name is its own: a JWT claiming it goes to that issuer's keys, and a CAT
  // (verified by static keys only) may not claim it either, or it would pass for the issuer's user.
  if (typeof cat.payload.iss === 'string' && issuers?.get(cat.payload.iss))
    throw new StagedoorError(
      'CLAIM_INVALID',
      'claim iss: names an OpenID issuer, whose tokens are JWTs verified by its own keys',
      { claim: 'iss' },
    );
  const { exp, nbf } = cat.payload;
  if (options.requireExp && exp === undefined)
    throw new StagedoorError('CLAIM_INVALID', 'claim exp: missing', { claim: 'exp' });
  if (typeof nbf === 'number' && nbf > now / 1000 + options.clockToleranceSec)
    throw new StagedoorError('TOKEN_NOT_YET_VALID', undefined, { claim: 'nbf' });
  return grantFrom(cat.signedContent, cat.payload, options, now, staticSigner(key));
}

/** A token whose `iss` names a configured OpenID issuer: its keys, its algorithms, its audience. */
async function verifyIssuerToken(
  token: string,
  header: ProtectedHeaderParameters,
  issuer: TrustedIssuer,
  options: VerifyOptions,
  now: number,
): Promise<Grant> {
  const alg = header.alg;
  if (
    typeof alg !== 'string' ||
    alg.toLowerCase() === 'none' ||
    !issuer.algorithms.includes(alg as never)
  ) {
    throw new StagedoorError(
      'ALG_NOT_ALLOWED',
      `issuer ${issuer.issuer} signs with ${issuer.algorithms.join(', ')}, not ${String(alg)}`,
    );
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, issuer.keys.resolve, {
      algorithms: issuer.algorithms,
      issuer: issuer.issuer,
      ...(issuer.audience !== undefined ? { audience: issuer.audience } : {}),
      clockTolerance: options.clockToleranceSec,
      requiredClaims: options.requireExp ? ['exp'] : [],
      currentDate: new Date(now),
    }));
  } catch (error) {
    throw translateJoseError(error);
  }
  const permissions = issuer.permissionsClaim ? payload[issuer.permissionsClaim] : undefined;
  if (
    permissions !== undefined &&
    !(Array.isArray(permissions) && permissions.every((p) => typeof p === 'string'))
  ) {
    throw new StagedoorError(
      'CLAIM_INVALID',
      `${issuer.permissionsClaim} must be an array of strings`,
      { claim: issuer.permissionsClaim },
    );
  }
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  // No scope and no permissions: the token was minted for something else and gets only the defaults.
  const unscoped =
    payload.scope === undefined && payload.scp === undefined && permissions === undefined;
  return grantFrom(jwtContent(token), payload, options, now, {
    kid,
    keyActions: issuer.actions,
    subjectIsStream: issuer.subject === 'stream',
    subjectRequired: false,
    keySource: `issuer ${issuer.issuer}`,
    signer: { kind: 'issuer', issuer: issuer.issuer, kid },
    keyStreams: undefined,
    keySessionLimits: issuer.sessionLimits,
    scoped: true,
    extraScopes: unscoped ? issuer.defaultScopes : (permissions as string[] | undefined),
  });
}

/** What the signer contributes to a grant (a static key or an issuer). */
interface Signer {
  kid: string | undefined;
  keyActions: Grant['keyActions'];
  subjectIsStream: boolean;
  subjectRequired: boolean;
  keySource: string;
  signer: Grant['signer'];
  keyStreams: readonly string[] | undefined;
  keySessionLimits: Grant['keySessionLimits'];
  scoped: boolean;
  /** Permissions from an issuer's permissions claim, read like scopes. */
  extraScopes?: readonly string[] | undefined;
}

/** The checks jose leaves to us, then the grant of a verified payload. */
function grantFrom(
  /** What the signature covers: the token's identity when it has no `jti`. */
  content: string | Uint8Array,
  payload: JWTPayload,
  options: VerifyOptions,
  now: number,
  signer: Signer,
): Grant {
  checkExtraClaims(payload, options, now);
  const expMs =
    typeof payload.exp === 'number' ? (payload.exp + options.clockToleranceSec) * 1000 : undefined;
  // jose compares whole seconds; a fractional exp that has just passed is still expired here.
  if (expMs !== undefined && expMs <= now)
    throw new StagedoorError('TOKEN_EXPIRED', undefined, { claim: 'exp' });
  const { extraScopes, ...fromSigner } = signer;
  return {
    subject: payload.sub,
    scopes: [
      ...(readScopes(payload as { scope?: unknown; scp?: unknown }) ?? []),
      ...(extraScopes ?? []),
    ],
    tokenId: typeof payload.jti === 'string' && payload.jti ? payload.jti : tokenHash(content),
    jti: typeof payload.jti === 'string' ? payload.jti : undefined,
    issuer: payload.iss,
    expiresAt: expMs,
    claims: payload,
    ...fromSigner,
  };
}

function checkExtraClaims(payload: JWTPayload, options: VerifyOptions, now: number): void {
  if (payload.exp !== undefined && !Number.isFinite(payload.exp))
    throw new StagedoorError('CLAIM_INVALID', 'exp must be a finite number', { claim: 'exp' });
  if (
    typeof payload.iat === 'number' &&
    payload.iat * 1000 > now + options.clockToleranceSec * 1000
  ) {
    throw new StagedoorError('TOKEN_NOT_YET_VALID', 'the token was issued in the future', {
      claim: 'iat',
    });
  }
  if (payload.sub !== undefined && typeof payload.sub !== 'string')
    throw new StagedoorError('CLAIM_INVALID', 'sub must be a string', { claim: 'sub' });
  readMaxSessionsClaim(payload); // CLAIM_INVALID unless absent or an integer ≥ 1
  if (payload.jti !== undefined && (typeof payload.jti !== 'string' || payload.jti.length > 256)) {
    throw new StagedoorError('CLAIM_INVALID', 'jti must be a string of at most 256 characters', {
      claim: 'jti',
    });
  }
}
