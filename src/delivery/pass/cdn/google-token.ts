import { createHmac } from 'node:crypto';
import type { CdnTokenRequest, CdnTokenWriter } from './cdn-token.js';

export interface GoogleTokenOptions {
  keyName: string;
  /** base64url of the 16-byte key. */
  key: string;
  /** How viewers reach the CDN, `https://media.example.com`. */
  baseUrl: string;
}

/**
 * Google Cloud CDN signed URL prefix: `URLPrefix=<base64url(prefix)>&Expires=<s>&KeyName=<name>&
 * Signature=<base64url(HMAC-SHA1(key, "URLPrefix=…&Expires=…&KeyName=…"))>`, the prefix being the
 * stream's directory (`<baseUrl>/<app>/<stream>/`), so one signature opens every segment and part of
 * that stream, and nothing else, until the window ends. The signed parameters come last in the URL.
 */
export class GoogleTokenWriter implements CdnTokenWriter {
  readonly format = 'google';
  readonly params = ['URLPrefix', 'Expires', 'KeyName', 'Signature'];
  readonly #key: Buffer;
  readonly #options: GoogleTokenOptions;

  constructor(options: GoogleTokenOptions) {
    this.#options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
    this.#key = Buffer.from(options.key, 'base64url');
  }

  sign(request: CdnTokenRequest): string {
    const prefix = base64url(Buffer.from(`${this.#options.baseUrl}${request.dir}`));
    const signed = `URLPrefix=${prefix}&Expires=${Math.floor(request.expiresAt / 1000)}&KeyName=${this.#options.keyName}`;
    const signature = base64url(createHmac('sha1', this.#key).update(signed).digest());
    return `${signed}&Signature=${signature}`;
  }
}

/** URL-safe base64 with its padding, as Google's samples write it (Python's urlsafe_b64encode). */
function base64url(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}
