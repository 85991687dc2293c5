import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The `vs` parameter rewritten into every URI of a playlist served to a viewer: it names the
 * viewer's session and its expiry, signed with a key only this process holds. It lets a stock
 * player follow playlists and segments without the token being copied into every segment URL,
 * and it is checked with one HMAC instead of a signature verification.
 */
export interface ViewerPass {
  viewerId: string;
  /** ms since epoch. */
  expiresAt: number;
  stream: string;
}

export class ViewerPassSigner {
  readonly #key: Buffer;

  constructor(key: Buffer = randomBytes(32)) {
    this.#key = key;
  }

  sign(pass: ViewerPass): string {
    const body = `${pass.viewerId}.${Math.ceil(pass.expiresAt)}`;
    return `${body}.${this.#mac(body, pass.stream)}`;
  }

  /** The pass if it is intact, for this stream, and unexpired; otherwise undefined. */
  verify(value: string, stream: string, now = Date.now()): ViewerPass | undefined {
    const parts = value.split('.');
    if (parts.length !== 3) return undefined;
    const [viewerId, exp, mac] = parts as [string, string, string];
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(viewerId) || !/^\d{1,16}$/.test(exp)) return undefined;
    const expected = Buffer.from(this.#mac(`${viewerId}.${exp}`, stream));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const expiresAt = Number(exp);
    if (expiresAt <= now) return undefined;
    return { viewerId, expiresAt, stream };
  }

  #mac(body: string, stream: string): string {
    return createHmac('sha256', this.#key)
      .update(`${body}.${stream}`)
      .digest('base64url')
      .slice(0, 32);
  }
}
