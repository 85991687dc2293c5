// Common Access Tokens for tests, made from RFC 8392 (CWT) and RFC 9052 (COSE) directly, not with the
// code under test: COSE_Mac0 (HMAC) or COSE_Sign1 (ECDSA, raw r‖s), in the CWT tag, base64url.
import { createHmac, sign, type KeyObject } from 'node:crypto';
import { Encoder, Tag } from 'cbor-x';

const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, variableMapSize: true });

/** CWT claim keys (RFC 8392 §4) and CAT's (CTA-5007) used in tests. */
export const CLAIM = { iss: 1, sub: 2, aud: 3, exp: 4, nbf: 5, iat: 6, cti: 7, catu: 312 } as const;

export interface CatOptions {
  /** COSE alg id: 5 HMAC 256/256, 6 HMAC 384, 4 HMAC 256/64, -7 ES256 … (written as given). */
  alg: number;
  kid?: string;
  /** HMAC secret, or an EC private key for COSE_Sign1. */
  key: Uint8Array | KeyObject;
  /** Wrap in the CWT tag (61); default true. */
  cwtTag?: boolean;
  /** The unprotected header (default empty): not covered by the MAC or signature. */
  unprotected?: Map<number, unknown>;
}

export function makeCat(claims: Map<number | string, unknown>, options: CatOptions): string {
  const header = new Map<number, unknown>([[1, options.alg]]);
  if (options.kid !== undefined) header.set(4, Buffer.from(options.kid));
  const protectedBytes = encoder.encode(header);
  const payload = encoder.encode(claims);
  const mac = options.key instanceof Uint8Array;
  const toCheck = encoder.encode([
    mac ? 'MAC0' : 'Signature1',
    protectedBytes,
    Buffer.alloc(0),
    payload,
  ]);
  let check: Buffer;
  if (mac) {
    const hash = options.alg === 6 ? 'sha384' : options.alg === 7 ? 'sha512' : 'sha256';
    check = createHmac(hash, options.key as Uint8Array)
      .update(toCheck)
      .digest();
    if (options.alg === 4) check = check.subarray(0, 8); // HMAC 256/64
  } else {
    check = sign('sha256', toCheck, { key: options.key as KeyObject, dsaEncoding: 'ieee-p1363' });
  }
  const message = new Tag(
    [protectedBytes, options.unprotected ?? new Map(), payload, check],
    mac ? 17 : 18,
  );
  const outer = options.cwtTag === false ? message : new Tag(message, 61);
  return Buffer.from(encoder.encode(outer)).toString('base64url');
}

/** Claims for a stream-bound token valid `ttl` seconds. */
export function catClaims(sub: string, ttl = 300, extra: Array<[number | string, unknown]> = []) {
  const now = Math.floor(Date.now() / 1000);
  return new Map<number | string, unknown>([
    [CLAIM.sub, sub],
    [CLAIM.exp, now + ttl],
    [CLAIM.iat, now],
    [CLAIM.cti, Buffer.from(`cti-${Math.random()}`)],
    ...extra,
  ]);
}
