import { getSignedCookies, getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { cdnOrigin, type CdnTokenRequest, type CdnTokenWriter } from './cdn-token.js';
import type { CdnCookie } from './cdn-cookie.js';

/** Signatures kept for reuse (a few seconds' worth for thousands of streams). */
const SIGNED_KEPT = 4096;

export interface CloudFrontTokenOptions {
  /** The public key's id in the distribution's key group (CloudFront's `Key-Pair-Id`). */
  keyPairId: string;
  /** The private key, PEM. */
  privateKey: string;
  /** The distribution's origin as viewers reach it, `https://d111111abcdef8.cloudfront.net`. */
  baseUrl: string;
  /** SHA1 (CloudFront's default) or SHA256 (adds `Hash-Algorithm=SHA256`). */
  algorithm: 'SHA1' | 'SHA256';
  /** Bind the policy to the viewer's address (`IpAddress`): only where CloudFront sees the same address. */
  bindAddress: boolean;
  /** Signed URLs (on every URI), or signed cookies (set with the playlists; the URIs stay short). */
  delivery?: 'url' | 'cookie' | undefined;
  /** The signed cookies' Domain (else the host the playlist came from). */
  cookieDomain?: string | undefined;
}

/**
 * Amazon CloudFront signed URLs with a custom policy: the resource is the stream's directory with a
 * wildcard (`<baseUrl>/<app>/<stream>/*`), `DateLessThan` the window's end. Signed by AWS's own
 * signer (@aws-sdk/cloudfront-signer). An RSA-2048 signature costs about a millisecond, so one is
 * made per stream per window end (second), shared by its viewers, and the same `Policy`,
 * `Signature` and `Key-Pair-Id` go on every URI of their windows, or, with `delivery: 'cookie'`,
 * into the `CloudFront-*` signed cookies set on the viewer's playlists (the URIs then carry nothing:
 * an RSA policy and signature are some 570 characters on each of a playlist's ~100 URIs).
 */
export class CloudFrontTokenWriter implements CdnTokenWriter {
  readonly format = 'cloudfront';
  readonly params = ['Policy', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm'];
  readonly #secure: boolean;
  readonly #options: CloudFrontTokenOptions;
  /** Recent signatures, oldest first, by stream directory, window end (s) and bound address. */
  readonly #signed = new Map<string, string>();

  constructor(options: CloudFrontTokenOptions) {
    const { origin, secure } = cdnOrigin(options.baseUrl);
    this.#options = { ...options, baseUrl: origin };
    this.#secure = secure;
  }

  /** The custom policy for a window, as CloudFront reads it. */
  policy(request: CdnTokenRequest): string {
    const condition: Record<string, unknown> = {
      DateLessThan: { 'AWS:EpochTime': Math.floor(request.expiresAt / 1000) },
    };
    if (this.#options.bindAddress)
      condition.IpAddress = {
        'AWS:SourceIp': request.address.includes(':')
          ? `${request.address}/128`
          : `${request.address}/32`,
      };
    return JSON.stringify({
      Statement: [{ Resource: `${this.#options.baseUrl}${request.dir}*`, Condition: condition }],
    });
  }

  sign(request: CdnTokenRequest): string {
    if (this.#options.delivery === 'cookie') return '';
    return this.#reused('url', request, () => this.#sign(request));
  }

  /** Signed cookies (`CloudFront-Policy`, `-Signature`, `-Key-Pair-Id`) for the window, in cookie mode. */
  cookies(request: CdnTokenRequest): readonly CdnCookie[] {
    if (this.#options.delivery !== 'cookie') return [];
    const values = this.#reused('cookie', request, () => {
      const { keyPairId, privateKey, algorithm, baseUrl } = this.#options;
      const signed = getSignedCookies({
        url: `${baseUrl}${request.dir}`,
        keyPairId,
        privateKey,
        policy: this.policy(request),
        algorithm,
      });
      return Object.entries(signed)
        .filter(([, value]) => value !== undefined)
        .map(([name, value]) => `${name}=${String(value)}`)
        .join('\n');
    });
    return values.split('\n').map((pair) => {
      const at = pair.indexOf('=');
      return {
        name: pair.slice(0, at),
        value: pair.slice(at + 1),
        path: request.dir,
        secure: this.#secure,
        domain: this.#options.cookieDomain,
      };
    });
  }

  #reused(kind: 'url' | 'cookie', request: CdnTokenRequest, make: () => string): string {
    // The policy names no viewer: every viewer of a stream whose window ends in the same second
    // (and, bound, at the same address) shares one signature.
    const id = `${kind}|${request.dir}|${Math.floor(request.expiresAt / 1000)}|${this.#options.bindAddress ? request.address : ''}`;
    const known = this.#signed.get(id);
    if (known !== undefined) return known;
    const token = make();
    this.#signed.set(id, token);
    if (this.#signed.size > SIGNED_KEPT) this.#signed.delete(this.#signed.keys().next().value!);
    return token;
  }

  #sign(request: CdnTokenRequest): string {
    const { keyPairId, privateKey, algorithm, baseUrl } = this.#options;
    const signed = getSignedUrl({
      url: `${baseUrl}${request.dir}`,
      keyPairId,
      privateKey,
      policy: this.policy(request),
      algorithm,
    });
    return new URL(signed).search.slice(1);
  }
}
