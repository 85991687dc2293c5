import { createHmac } from 'node:crypto';
import { cdnOrigin, type CdnTokenRequest, type CdnTokenWriter } from './cdn-token.js';
import type { CdnCookie } from './cdn-cookie.js';

export interface GoogleTokenOptions {
  keyName: string;
  /** base64url of the 16-byte key. */
  key: string;
  /** How viewers reach the CDN, `https://media.example.com`. */
  baseUrl: string;
  /** Signed URL prefixes (on every URI), or a signed cookie (set with the playlists). */
  delivery?: 'url' | 'cookie' | undefined;
  /** The signed cookie's Domain (else the host the playlist came from). */
  cookieDomain?: string | undefined;
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
  readonly #secure: boolean;
  readonly #options: GoogleTokenOptions;

  constructor(options: GoogleTokenOptions) {
    const { origin, secure } = cdnOrigin(options.baseUrl);
    this.#options = { ...options, baseUrl: origin };
    this.#secure = secure;
    this.#key = Buffer.from(options.key, 'base64url');
  }

  sign(request: CdnTokenRequest): string {
    if (this.#options.delivery === 'cookie') return '';
    return this.#signed(request, '&');
  }

  /**
   * `Cloud-CDN-Cookie=URLPrefix=…:Expires=…:KeyName=…:Signature=…`, the same fields joined with `:`
   * and signed so, as Google's `sign_cookie` sample does (its published vectors are reproduced: tested).
   */
  cookies(request: CdnTokenRequest): readonly CdnCookie[] {
    if (this.#options.delivery !== 'cookie') return [];
    return [
      {
        name: 'Cloud-CDN-Cookie',
        value: this.#signed(request, ':'),
        path: request.dir,
        secure: this.#secure,
        domain: this.#options.cookieDomain,
      },
    ];
  }

  /** The signed fields and their signature, joined with `&` (a URL) or `:` (a cookie). */
  #signed(request: Pick<CdnTokenRequest, 'dir' | 'expiresAt'>, join: '&' | ':'): string {
    return signGoogle(
      `${this.#options.baseUrl}${request.dir}`,
      this.#options.keyName,
      this.#key,
      Math.floor(request.expiresAt / 1000),
      join,
    );
  }
}

/** Google's signed prefix: `URLPrefix=<b64>&Expires=<s>&KeyName=<k>&Signature=<b64(HMAC-SHA1)>` (or with `:`). */
export function signGoogle(
  prefix: string,
  keyName: string,
  key: Buffer,
  expires: number,
  join: '&' | ':',
): string {
  const fields = [
    `URLPrefix=${base64url(Buffer.from(prefix))}`,
    `Expires=${expires}`,
    `KeyName=${keyName}`,
  ].join(join);
  const signature = base64url(createHmac('sha1', key).update(fields).digest());
  return `${fields}${join}Signature=${signature}`;
}

/** URL-safe base64 with its padding, as Google's samples write it (Python's urlsafe_b64encode). */
function base64url(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}
