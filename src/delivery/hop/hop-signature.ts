import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signed request's time may be from this node's clock (ms): a captured one soon goes stale. */
const MAX_SKEW_MS = 30_000;

export const HOP_HEADERS = {
  node: 'x-stagedoor-node',
  time: 'x-stagedoor-time',
  signature: 'x-stagedoor-signature',
} as const;

/**
 * Requests between nodes are signed with the cluster's secret: HMAC-SHA256 over the method, the
 * path with its query, the asking node and the time. A viewer's token or pass is no credential
 * here; a request without a valid signature, or older than 30 s, is refused.
 */
export class HopSigner {
  readonly #secret: Buffer;
  readonly #now: () => number;

  constructor(secret: string, now: () => number = Date.now) {
    this.#secret = Buffer.from(secret, 'utf8');
    this.#now = now;
  }

  /** The headers that sign `GET <pathAndQuery>` from `node`. */
  sign(node: string, pathAndQuery: string): Record<string, string> {
    const time = String(this.#now());
    return {
      [HOP_HEADERS.node]: node,
      [HOP_HEADERS.time]: time,
      [HOP_HEADERS.signature]: this.#mac('GET', pathAndQuery, node, time),
    };
  }

  /** The asking node when the request is signed with the secret and fresh; undefined otherwise. */
  verify(
    method: string,
    pathAndQuery: string,
    headers: Record<string, string | string[] | undefined>,
  ): string | undefined {
    const node = one(headers[HOP_HEADERS.node]);
    const time = one(headers[HOP_HEADERS.time]);
    const signature = one(headers[HOP_HEADERS.signature]);
    if (!node || !time || !signature || !/^\d{1,15}$/.test(time)) return undefined;
    if (Math.abs(this.#now() - Number(time)) > MAX_SKEW_MS) return undefined;
    const expected = Buffer.from(this.#mac(method, pathAndQuery, node, time));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected) ? node : undefined;
  }

  #mac(method: string, pathAndQuery: string, node: string, time: string): string {
    return createHmac('sha256', this.#secret)
      .update(`${method}\n${pathAndQuery}\n${node}\n${time}`)
      .digest('base64url');
  }
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}
