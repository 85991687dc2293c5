import { createHash, createHmac } from 'node:crypto';
import { addressBytes } from '../../../net/address.js';
import type { CdnTokenRequest, CdnTokenWriter } from './cdn-token.js';

export interface BunnyTokenOptions {
  /** The pull zone's URL token authentication key. */
  key: string;
  /**
   * `HS256`: Bunny's current token, `HS256-` + HMAC-SHA256 (BunnyWay's signers 2.x); `SHA256`: the
   * older plain SHA-256 token, which Bunny still validates.
   */
  algorithm: 'HS256' | 'SHA256';
  /** Bind the token to the viewer's address (HS256 only): only where Bunny sees the same address. */
  bindAddress: boolean;
}

/** What a Bunny token signs: the path scope, the end, the other query parameters, the address. */
export interface BunnySigned {
  /** `token_path` if given, else the URL's path. */
  path: string;
  /** Seconds since epoch. */
  expires: number;
  /** Every query parameter but `token` and `expires` (`token_path` included), unencoded. */
  params: readonly (readonly [string, string])[];
  /** The client's address (HS256 only); '' for none. */
  address?: string | undefined;
}

/**
 * A Bunny token as BunnyWay's own signers compute it (their published vectors are in the tests).
 * The parameters are sorted by name and joined `k=v` with `&`, unencoded.
 * - HS256: `HS256-` (`1-` more if bound to an address) + base64url, unpadded, of
 *   HMAC-SHA256(key, path + expires + address bytes + parameters), the address in network order,
 *   an IPv6 one cut to its /64.
 * - SHA256: base64url, unpadded, of SHA-256(key + path + expires + parameters).
 */
export function signBunny(key: string, algorithm: 'HS256' | 'SHA256', signed: BunnySigned): string {
  const params = [...signed.params]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  if (algorithm === 'SHA256')
    return createHash('sha256')
      .update(`${key}${signed.path}${signed.expires}${params}`)
      .digest('base64url');
  let ip: Buffer = Buffer.alloc(0);
  if (signed.address) {
    const bytes = addressBytes(signed.address);
    if (!bytes) throw new TypeError(`not an IP address: ${signed.address}`);
    ip = bytes.length === 16 ? Buffer.concat([bytes.subarray(0, 8), Buffer.alloc(8)]) : bytes;
  }
  const mac = createHmac('sha256', key)
    .update(
      Buffer.concat([Buffer.from(`${signed.path}${signed.expires}`), ip, Buffer.from(params)]),
    )
    .digest('base64url');
  return `HS256-${signed.address ? '1-' : ''}${mac}`;
}

/**
 * Bunny CDN token authentication (the "advanced" token), query form, with `token_path` the stream's
 * directory, so one token opens the stream's segments and parts. Every query parameter is signed,
 * Stagedoor's `vs=` pass included, so the token is made with it, once per viewer per window.
 */
export class BunnyTokenWriter implements CdnTokenWriter {
  readonly format = 'bunny';
  readonly params = ['token', 'token_path', 'expires'];
  readonly #options: BunnyTokenOptions;

  constructor(options: BunnyTokenOptions) {
    if (options.bindAddress && options.algorithm !== 'HS256')
      throw new TypeError('Bunny tokens bind an address in the HS256 form only');
    this.#options = options;
  }

  sign(request: CdnTokenRequest): string {
    const expires = Math.floor(request.expiresAt / 1000);
    const token = signBunny(this.#options.key, this.#options.algorithm, {
      path: request.dir,
      expires,
      params: [
        ['token_path', request.dir],
        ['vs', request.segmentPass],
      ],
      address: this.#options.bindAddress ? request.address : '',
    });
    return `token=${token}&token_path=${encodeURIComponent(request.dir)}&expires=${expires}`;
  }
}
