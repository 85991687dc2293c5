import { createHmac } from 'node:crypto';
import { Encoder, Tag } from 'cbor-x';
import type { CdnTokenRequest, CdnTokenWriter } from './cdn-token.js';

export interface CatPassOptions {
  /** The key's id, sent as the COSE `kid` (unprotected), so verifiers can hold several keys. */
  kid: string;
  /** The HMAC 256/256 key, hex. */
  key: string;
  /** The query parameter the token goes in. */
  tokenName: string;
  /** Wrap the COSE_Mac0 in the CWT tag (61). */
  cwtTag: boolean;
  /** A `catr` claim for CDNs that renew tokens near their end (none by default). */
  renewal?:
    { type: 'header' | 'cookie'; expAddSec: number; deadlineSec: number; name: string } | undefined;
}

/** CWT and CAT claim keys (RFC 8392, CTA-5007) and the labels inside `catu` and `catr`. */
const CLAIM = { sub: 2, exp: 4, catv: 310, catu: 312, catr: 323 } as const;
const CATU_PATH = 3;
const MATCH_PREFIX = 1;
const CATR = { type: 0, expAdd: 1, deadline: 2, cookieName: 3, headerName: 4 } as const;
const CATR_TYPE = { cookie: 1, header: 2 } as const;
/** COSE: header label alg (1) and kid (4); HMAC 256/256 is alg 5. */
const ALG = 1;
const KID = 4;
const HMAC_256_256 = 5;
const MAC0_TAG = 17;
const CWT_TAG = 61;

const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, variableMapSize: true });

/**
 * A Common Access Token (CTA-5007) as a segment pass: a COSE_Mac0 (HMAC 256/256) CWT whose `catu`
 * allows paths starting with the stream's directory and whose `exp` is the pass window, with the
 * viewer as `sub` and `catv` 1, base64url in one query parameter. Verified by the nginx edge
 * (deploy/nginx-edge/cat.js) and by any CDN or validator that reads CATs; tokens made here verify
 * with @eyevinn/cat (tested). Cheap (one HMAC), so it is made per window without a cache.
 */
export class CatPassWriter implements CdnTokenWriter {
  readonly format = 'cat';
  readonly params: readonly string[];
  readonly #options: CatPassOptions;
  readonly #key: Buffer;
  readonly #protected: Buffer;

  constructor(options: CatPassOptions) {
    this.#options = options;
    this.#key = Buffer.from(options.key, 'hex');
    this.#protected = Buffer.from(encoder.encode(new Map([[ALG, HMAC_256_256]])));
    this.params = [options.tokenName];
  }

  sign(request: CdnTokenRequest): string {
    return `${this.#options.tokenName}=${this.token(request)}`;
  }

  /** The token alone, base64url. */
  token(request: Pick<CdnTokenRequest, 'dir' | 'expiresAt' | 'viewerId'>): string {
    const claims = new Map<number, unknown>([
      [CLAIM.sub, request.viewerId],
      [CLAIM.exp, Math.floor(request.expiresAt / 1000)],
      [CLAIM.catv, 1],
      [CLAIM.catu, new Map([[CATU_PATH, new Map([[MATCH_PREFIX, request.dir]])]])],
    ]);
    const renewal = this.#options.renewal;
    if (renewal)
      claims.set(
        CLAIM.catr,
        new Map<number, unknown>([
          [CATR.type, CATR_TYPE[renewal.type]],
          [CATR.expAdd, renewal.expAddSec],
          [CATR.deadline, renewal.deadlineSec],
          [renewal.type === 'cookie' ? CATR.cookieName : CATR.headerName, renewal.name],
        ]),
      );
    const payload = Buffer.from(encoder.encode(claims));
    const mac = createHmac('sha256', this.#key)
      .update(encoder.encode(['MAC0', this.#protected, Buffer.alloc(0), payload]))
      .digest();
    const message = new Tag(
      [this.#protected, new Map([[KID, Buffer.from(this.#options.kid)]]), payload, mac],
      MAC0_TAG,
    );
    const bytes = encoder.encode(this.#options.cwtTag ? new Tag(message, CWT_TAG) : message);
    return Buffer.from(bytes).toString('base64url');
  }
}
