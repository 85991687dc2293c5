import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { PassKeyring } from './pass-keys.js';

/**
 * What a viewer's playlist pass (`vs=` on playlist and key URIs) stands for: its viewer id, until
 * when, and the token it was admitted with (none on an open stream). Sealed (AES-256-GCM) under the
 * playlist pass keys and bound to its stream, so any node that holds the keys, or this one after a
 * restart, can take the viewer back by checking that token again, as if the player had sent it.
 */
export interface PlaylistPass {
  viewerId: string;
  /** ms since epoch; the pass is refused after it. */
  expiresAt: number;
  token: string | undefined;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const VIEWER_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** Seals and opens playlist passes: `<kid>.<exp seconds>.<base64url(iv | ciphertext | tag)>`. */
export class PlaylistPasses {
  readonly #keyring: PassKeyring;
  readonly #aesKeys = new Map<string, Buffer>();

  constructor(keyring: PassKeyring) {
    this.#keyring = keyring;
  }

  seal(pass: PlaylistPass, stream: string): string {
    const { kid } = this.#keyring.signing;
    const exp = Math.ceil(pass.expiresAt / 1000);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#aesKey(kid)!, iv);
    cipher.setAAD(Buffer.from(`${kid}.${exp}.${stream}`));
    const plain = JSON.stringify({ v: pass.viewerId, t: pass.token });
    const sealed = Buffer.concat([
      iv,
      cipher.update(plain, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `${kid}.${exp}.${sealed.toString('base64url')}`;
  }

  /** The pass if it is intact, sealed for this stream under a known key, and unexpired. */
  open(value: string, stream: string, now = Date.now()): PlaylistPass | undefined {
    const parts = value.split('.');
    if (parts.length !== 3) return undefined;
    const [kid, exp, sealed] = parts as [string, string, string];
    if (!/^\d{1,12}$/.test(exp) || Number(exp) * 1000 <= now) return undefined;
    const key = this.#aesKey(kid);
    const bytes = Buffer.from(sealed, 'base64url');
    if (!key || bytes.length < IV_BYTES + TAG_BYTES + 2) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(`${kid}.${exp}.${stream}`));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
      const { v, t } = JSON.parse(plain) as { v?: unknown; t?: unknown };
      if (typeof v !== 'string' || !VIEWER_ID.test(v)) return undefined;
      if (t !== undefined && typeof t !== 'string') return undefined;
      return { viewerId: v, expiresAt: Number(exp) * 1000, token: t };
    } catch {
      return undefined; // tampered, or sealed for another stream
    }
  }

  #aesKey(kid: string): Buffer | undefined {
    let key = this.#aesKeys.get(kid);
    if (!key) {
      const pass = this.#keyring.get(kid);
      if (!pass) return undefined;
      key = Buffer.from(hkdfSync('sha256', pass.secret, '', 'stagedoor playlist pass', 32));
      this.#aesKeys.set(kid, key);
    }
    return key;
  }
}
