/** Where a CDN's signed cookies go: the stream's directory on the CDN's host (or `domain`). */
export interface CdnCookieScope {
  /** The stream's directory, `/<app>/<stream>/`: the cookie goes with that stream's requests only. */
  path: string;
  /** Seconds until the window ends. */
  maxAgeSec: number;
  /** The CDN is reached over HTTPS: `Secure; SameSite=None`, so a player on another site sends it. */
  secure: boolean;
  /** The cookie's Domain; undefined: the host the playlist came from (the CDN's). */
  domain?: string | undefined;
}

/**
 * A Set-Cookie value for a CDN's signed cookie. HttpOnly: players never read it, browsers send it.
 * Cookie names and values here are CDN-defined tokens (base64 variants, `=`, `:`), never user text.
 */
export function cdnSetCookie(name: string, value: string, scope: CdnCookieScope): string {
  return [
    `${name}=${value}`,
    `Path=${scope.path}`,
    `Max-Age=${Math.max(0, Math.floor(scope.maxAgeSec))}`,
    ...(scope.domain ? [`Domain=${scope.domain}`] : []),
    'HttpOnly',
    ...(scope.secure ? ['Secure', 'SameSite=None'] : ['SameSite=Lax']),
  ].join('; ');
}
