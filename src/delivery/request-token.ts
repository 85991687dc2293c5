import { StagedoorError } from '../errors.js';

/** Cookie a web page can set instead of putting the token in the URL. */
export const TOKEN_COOKIE = 'stagedoor_token';

export interface TokenSources {
  query: Record<string, unknown>;
  authorization?: string | undefined;
  cookie?: string | undefined;
}

/** The viewer's token from `?token=`, `?jwt=`, `Authorization: Bearer`, or the cookie, in that order. */
export function tokenFromRequest({ query, authorization, cookie }: TokenSources): string | undefined {
  const fromQuery = [query.token, query.jwt].flat().filter((v): v is string => typeof v === 'string' && v !== '');
  if (fromQuery.length > 1) throw new StagedoorError('TOKEN_MALFORMED', 'more than one token in the query');
  if (fromQuery[0]) return fromQuery[0];
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new StagedoorError('TOKEN_MALFORMED', 'Authorization must be "Bearer <token>"');
    return match[1];
  }
  if (cookie) {
    for (const part of cookie.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === TOKEN_COOKIE) return decodeURIComponent(part.slice(eq + 1).trim()) || undefined;
    }
  }
  return undefined;
}
