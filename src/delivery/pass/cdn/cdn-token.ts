import type { CdnCookie } from './cdn-cookie.js';

/** The CDNs (and the Common Access Token, CTA-5007) whose own signed-URL format Stagedoor writes onto segment, init and part URIs. */
export type CdnFormat = 'akamai' | 'cloudfront' | 'google' | 'bunny' | 'cat';

/** One viewer's window: what the CDN's token must allow, and until when. */
export interface CdnTokenRequest {
  /** The stream's directory in URLs, `/<app>/<stream>/`: the token allows that and below, nothing else. */
  dir: string;
  /** ms since epoch; never past the viewer's token's `exp` (the segment pass window). */
  expiresAt: number;
  /** The viewer (for formats that carry an id). */
  viewerId: string;
  /** The viewer's address as the origin sees it (for formats that can bind one). */
  address: string;
  /**
   * Stagedoor's own segment pass on the same URIs (`vs=`): formats that sign every query parameter
   * (Bunny) sign it too.
   */
  segmentPass: string;
}

/**
 * Writes a CDN's own signed-URL token for a viewer's window, so that the CDN verifies every segment
 * and part request by configuration alone (no code at the edge) while the origin stays authoritative
 * for playlists and keys. Signed once per viewer per window and reused on every URI of that window.
 */
export interface CdnTokenWriter {
  readonly format: CdnFormat;
  /**
   * The query parameters the token occupies: on a request that carries a viewer pass they are the
   * CDN's, never a viewer's credentials (Bunny's `token` is no JWT).
   */
  readonly params: readonly string[];
  /**
   * The query parameters to add (URI-encoded, joined with `&`, no leading `?` or `&`); '' where the
   * token travels in cookies instead.
   */
  sign(request: CdnTokenRequest): string;
  /**
   * Signed cookies for the window, sent with the viewer's playlists (`cdnSetCookie`), for a writer
   * configured to deliver the token as cookies; absent or empty otherwise.
   */
  cookies?(request: CdnTokenRequest): readonly CdnCookie[];
}

/**
 * A configured `baseUrl` (an origin only: the config refuses a path, query or wildcard) in its normal
 * form, lower-case scheme and host, so that the signed prefix is what the CDN sees; and whether
 * viewers reach it over HTTPS (signed cookies are then `Secure`).
 */
export function cdnOrigin(baseUrl: string): { origin: string; secure: boolean } {
  const base = new URL(baseUrl);
  return { origin: base.origin, secure: base.protocol === 'https:' };
}
