/** A CDN's signed cookie for one window: what it is and where it goes; its Max-Age is added when sent. */
export interface CdnCookie {
  name: string;
  /** A CDN-defined token (base64 variants, `=`, `:`), never user text. */
  value: string;
  /** The stream's directory, `/<app>/<stream>/`: the cookie goes with that stream's requests only. */
  path: string;
  /** The CDN is reached over HTTPS: `Secure; SameSite=None`, so a player on another site sends it. */
  secure: boolean;
  /** The cookie's Domain; undefined: the host the playlist came from (the CDN's). */
  domain?: string | undefined;
}

/**
 * The Set-Cookie value for a CDN's signed cookie, `maxAgeSec` before its window ends (worked out at
 * each response, so that a cookie signed early in its window is not kept past it). HttpOnly: players
 * never read it, browsers send it.
 */
export function cdnSetCookie(cookie: CdnCookie, maxAgeSec: number): string {
  return [
    `${cookie.name}=${cookie.value}`,
    `Path=${cookie.path}`,
    `Max-Age=${Math.max(0, Math.floor(maxAgeSec))}`,
    ...(cookie.domain ? [`Domain=${cookie.domain}`] : []),
    'HttpOnly',
    ...(cookie.secure ? ['Secure', 'SameSite=None'] : ['SameSite=Lax']),
  ].join('; ');
}
