import { constants, createHmac, KeyObject, timingSafeEqual, verify } from 'node:crypto';
import { Decoder, Encoder, Tag } from 'cbor-x';
import type { CryptoKey, JWTPayload } from 'jose';
import { StagedoorError } from '../../errors.js';
import type { SupportedAlg } from '../../config/schema.js';
import type { TrustedKey } from '../import-key.js';

/*
 * The Common Access Token (CTA-5007): a CBOR Web Token (RFC 8392) in COSE (RFC 9052), sent as
 * base64url. Stagedoor reads COSE_Mac0 (tag 17) and COSE_Sign1 (tag 18), with or without the CWT
 * tag (61), verifies it with a configured key pinned to one algorithm, and maps its claims to the
 * ones a JWT carries, so that the same grant, rules and refusal codes apply.
 */

const CWT_TAG = 61;
const MAC0_TAG = 17;
const SIGN1_TAG = 18;

/** COSE algorithm ids (IANA "COSE Algorithms") of the algorithms a key may be pinned to. */
const COSE_ALGS: Record<number, SupportedAlg> = {
  5: 'HS256',
  6: 'HS384',
  7: 'HS512',
  [-7]: 'ES256',
  [-35]: 'ES384',
  [-8]: 'EdDSA',
  [-37]: 'PS256',
  [-38]: 'PS384',
  [-39]: 'PS512',
  [-257]: 'RS256',
  [-258]: 'RS384',
  [-259]: 'RS512',
};

/** CWT claim keys (RFC 8392) and the JWT names they map to. */
const CWT_CLAIMS: Record<number, string> = {
  1: 'iss',
  2: 'sub',
  3: 'aud',
  4: 'exp',
  5: 'nbf',
  6: 'iat',
  7: 'cti',
};

/**
 * CAT claims (CTA-5007) that restrict where, how or how often a token may be used and that Stagedoor
 * does not enforce, so a token that carries one is refused rather than admitted more widely than
 * its issuer meant. (`catu` is enforced; `catr` restricts nothing.)
 */
const CAT_CLAIMS: Record<number, string> = {
  8: 'cnf',
  282: 'geohash',
  308: 'catreplay',
  309: 'catpor',
  311: 'catnip',
  313: 'catm',
  314: 'catalpn',
  315: 'cath',
  316: 'catgeoiso3166',
  317: 'catgeocoord',
  319: 'cattpk',
  320: 'catifdata',
  321: 'catadpop',
  322: 'catif',
};
const CATV = 310;
/** Enforced: the URLs the token may be used on (src/auth/cat/catu.ts). */
const CATU = 312;
/** A renewal instruction for CDNs; it restricts nothing, and Stagedoor's passes renew on each reload. */
const CATR = 323;
/** JWT and CWT names of registered claims: never accepted as text keys. */
const REGISTERED = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'cti',
  'cnf',
  'catu',
  'catr',
]);

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, variableMapSize: true });

/** A CAT read but not yet verified. */
export interface ParsedCat {
  alg: SupportedAlg;
  kid: string | undefined;
  /** Verifies the MAC or signature with one key (pinned to `alg`). */
  verifiedBy(key: TrustedKey): boolean;
  /** The claims, named as in a JWT (`cti` becomes `jti`, base64url); text-keyed claims as JSON keeps them. */
  payload: JWTPayload;
  /**
   * What the MAC or signature covers (the COSE structure to be checked): the token's identity when
   * it has no `cti`. The rest of the token (unprotected header, the outer CBOR) can be re-encoded by
   * anyone, so it must not make one token count as many.
   */
  signedContent: Buffer;
}

/** Whether a credential is a CAT rather than a JWT: base64url without dots, opening with a COSE or CWT tag. */
export function looksLikeCat(token: string): boolean {
  if (token.includes('.') || !/^[A-Za-z0-9_-]{16,}$/.test(token)) return false;
  const first = Buffer.from(token.slice(0, 4), 'base64url');
  // d1 / d2: tags 17 and 18; d8 3d: tag 61.
  return first[0] === 0xd1 || first[0] === 0xd2 || (first[0] === 0xd8 && first[1] === CWT_TAG);
}

const malformed = (why: string, cause?: unknown) =>
  new StagedoorError('TOKEN_MALFORMED', `not a valid Common Access Token: ${why}`, { cause });

/** Reads a CAT's structure and claims; TOKEN_MALFORMED, ALG_NOT_ALLOWED or CLAIM_INVALID. */
export function parseCat(token: string): ParsedCat {
  let outer: unknown;
  try {
    outer = decoder.decode(Buffer.from(token, 'base64url'));
  } catch (cause) {
    throw malformed('not CBOR', cause);
  }
  if (outer instanceof Tag && outer.tag === CWT_TAG) outer = outer.value;
  if (!(outer instanceof Tag) || (outer.tag !== MAC0_TAG && outer.tag !== SIGN1_TAG))
    throw malformed('a COSE_Mac0 or COSE_Sign1 (tags 17, 18) is expected');
  const tag = outer.tag;
  const parts = outer.value as unknown;
  if (!Array.isArray(parts) || parts.length !== 4) throw malformed('a COSE message has 4 parts');
  const [protectedBytes, unprotected, payloadBytes, check] = parts as unknown[];
  if (!isBytes(protectedBytes) || !isBytes(check) || !(unprotected instanceof Map))
    throw malformed('bad COSE headers');
  // RFC 9052: the payload is a byte string (a detached payload, nil, is not a token).
  if (!isBytes(payloadBytes)) throw malformed('the payload must be a byte string');
  const header =
    protectedBytes.length === 0 ? new Map() : decodeMap(protectedBytes, 'protected header');
  if (header.has(2) || unprotected.has(2))
    throw malformed('crit header parameters are not supported');
  // Only the kid may go unprotected: anything else there is unauthenticated and would let a token
  // be re-encoded at will.
  for (const label of unprotected.keys())
    if (label !== 4)
      throw malformed(`unprotected header parameter ${String(label)} is not accepted`);
  if (header.has(4) && unprotected.has(4)) throw malformed('the kid is given twice');
  // The algorithm must be protected: an unprotected one could be swapped.
  const algId = header.get(1) as unknown;
  const alg = typeof algId === 'number' ? COSE_ALGS[algId] : undefined;
  if (!alg)
    throw new StagedoorError('ALG_NOT_ALLOWED', `COSE alg ${String(algId)} is not accepted`);
  if ((tag === MAC0_TAG) !== alg.startsWith('HS'))
    throw new StagedoorError('ALG_NOT_ALLOWED', `${alg} does not go with COSE tag ${tag}`);
  const kidBytes = (header.get(4) ?? unprotected.get(4)) as unknown;
  if (kidBytes !== undefined && !isBytes(kidBytes)) throw malformed('kid must be a byte string');
  const kid = kidBytes === undefined ? undefined : Buffer.from(kidBytes).toString('utf8');
  const payload = claimsOf(decodeMap(payloadBytes, 'payload'));
  const toCheck = encoder.encode([
    tag === MAC0_TAG ? 'MAC0' : 'Signature1',
    Buffer.from(protectedBytes),
    Buffer.alloc(0),
    Buffer.from(payloadBytes),
  ]);
  return {
    alg,
    kid,
    payload,
    signedContent: toCheck,
    verifiedBy: (key) => checks(alg, key, toCheck, Buffer.from(check)),
  };
}

function checks(alg: SupportedAlg, key: TrustedKey, data: Buffer, given: Buffer): boolean {
  const hash = `sha${alg.slice(2)}`;
  if (alg.startsWith('HS')) {
    const expected = createHmac(hash, key.key as Uint8Array)
      .update(data)
      .digest();
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
  const publicKey = KeyObject.from(key.key as CryptoKey);
  if (alg === 'EdDSA') return verify(null, data, publicKey, given);
  if (alg.startsWith('ES'))
    return verify(hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, given);
  if (alg.startsWith('PS'))
    return verify(
      hash,
      data,
      {
        key: publicKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: Number(alg.slice(2)) / 8,
      },
      given,
    );
  return verify(hash, data, publicKey, given);
}

function decodeMap(bytes: Uint8Array, what: string): Map<unknown, unknown> {
  let value: unknown;
  try {
    value = decoder.decode(Buffer.from(bytes));
  } catch (cause) {
    throw malformed(`the ${what} is not CBOR`, cause);
  }
  if (!(value instanceof Map)) throw malformed(`the ${what} is not a map`);
  return value;
}

/** The CWT's claims as JWT claims; a CAT restriction Stagedoor does not enforce is refused. */
function claimsOf(claims: Map<unknown, unknown>): JWTPayload {
  const payload: Record<string, unknown> = {};
  for (const [label, value] of claims) {
    if (typeof label === 'string') {
      // A registered claim under its text name would shadow (or be shadowed by) its integer key.
      if (REGISTERED.has(label))
        throw claimInvalid(label, 'registered CWT claims go under their integer keys');
      if (label === '__proto__') throw claimInvalid(label, 'not a claim name');
      // Private text-keyed claims (scope, max_sessions, access …), as a JWT would carry them.
      payload[label] = asJson(value, label);
      continue;
    }
    if (typeof label !== 'number') throw malformed('a claim key is neither text nor integer');
    const name = CWT_CLAIMS[label];
    if (name === 'cti') {
      if (!isBytes(value)) throw claimInvalid('cti', 'must be a byte string');
      payload.jti = Buffer.from(value).toString('base64url');
    } else if (name) payload[name] = value;
    else if (label === CATV) {
      if (value !== 1) throw claimInvalid('catv', 'only version 1 is known');
    } else if (label === CATU) payload.catu = asJson(value, 'catu');
    else if (label === CATR) payload.catr = asJson(value, 'catr');
    else {
      const cat = CAT_CLAIMS[label];
      throw claimInvalid(
        cat ?? String(label),
        cat
          ? `${cat} is not enforced by this server, so a token that carries it is not accepted`
          : 'an unknown CWT claim',
      );
    }
  }
  if (payload.iss !== undefined && typeof payload.iss !== 'string')
    throw claimInvalid('iss', 'must be a text string');
  const aud = payload.aud as unknown;
  if (
    aud !== undefined &&
    typeof aud !== 'string' &&
    !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))
  )
    throw claimInvalid('aud', 'must be a text string or an array of them');
  // CBOR can carry NaN and infinities, which JSON cannot: a time claim must be a finite number.
  for (const time of ['exp', 'nbf', 'iat'] as const)
    if (payload[time] !== undefined && !Number.isFinite(payload[time]))
      throw claimInvalid(time, 'must be a finite number');
  return payload as JWTPayload;
}

/**
 * A CBOR claim value as JSON keeps it: maps become objects keyed by their labels as strings, byte
 * strings hex, so that it travels with the grant like any JWT claim.
 */
function asJson(value: unknown, claim: string, depth = 0): unknown {
  if (depth > 4) throw claimInvalid(claim, 'nested too deep');
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value as Map<unknown, unknown>) {
      if (typeof k !== 'number' && typeof k !== 'string')
        throw claimInvalid(claim, 'map keys are integers or text');
      if (k === '__proto__') throw claimInvalid(claim, 'a map key may not be __proto__');
      out[String(k)] = asJson(v, claim, depth + 1);
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => asJson(v, claim, depth + 1));
  if (isBytes(value)) return Buffer.from(value).toString('hex');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return value;
  throw claimInvalid(claim, 'holds a value of an unexpected type');
}

const claimInvalid = (claim: string, why: string) =>
  new StagedoorError('CLAIM_INVALID', `${claim}: ${why}`, { claim });

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}
