import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PassKeyring } from './pass-keys.js';

/**
 * A segment pass (`vs=` on segment, init and part URIs): `<kid>.<exp seconds>.<viewer id>.<mac>`,
 * where mac is the first 22 characters of base64url(HMAC-SHA256(secret, "<kid>.<exp>.<viewer>.<dir>"))
 * and dir the stream's directory path, `/<app>/<stream>/`. Short-lived and checkable alone by anyone
 * given the edge keys (deploy/nginx-edge/pass.js does the same in njs), so an edge can verify every
 * segment request and cache each segment once, by path, for all viewers.
 */
export interface SegmentPass {
  kid: string;
  /** ms since epoch. */
  expiresAt: number;
  viewerId: string;
}

const MAC_CHARS = 22;

export class SegmentPasses {
  readonly #keyring: PassKeyring;

  constructor(keyring: PassKeyring) {
    this.#keyring = keyring;
  }

  sign(viewerId: string, expiresAt: number, dir: string): string {
    const { kid, secret } = this.#keyring.signing;
    const body = `${kid}.${Math.floor(expiresAt / 1000)}.${viewerId}`;
    return `${body}.${mac(secret, body, dir)}`;
  }

  /**
   * The pass if its MAC verifies for this directory under a known key, expired or not (the origin
   * knows its viewers and judges them itself; an edge refuses an expired pass).
   */
  verify(value: string, dir: string): SegmentPass | undefined {
    const parts = value.split('.');
    if (parts.length !== 4) return undefined;
    const [kid, exp, viewerId, given] = parts as [string, string, string, string];
    const key = this.#keyring.get(kid);
    const givenBytes = Buffer.from(given);
    if (!key || !/^\d{1,12}$/.test(exp) || givenBytes.length !== MAC_CHARS) return undefined;
    const expected = mac(key.secret, `${kid}.${exp}.${viewerId}`, dir);
    if (!timingSafeEqual(givenBytes, Buffer.from(expected))) return undefined;
    return { kid, expiresAt: Number(exp) * 1000, viewerId };
  }
}

function mac(secret: string, body: string, dir: string): string {
  return createHmac('sha256', secret)
    .update(`${body}.${dir}`)
    .digest('base64url')
    .slice(0, MAC_CHARS);
}
