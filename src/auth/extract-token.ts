import { StagedoorError } from '../errors.js';

/** Cookie a web page can set instead of putting the token in the URL. */
export const TOKEN_COOKIE = 'stagedoor_token';

export interface TokenSources {
  query: URLSearchParams | Record<string, unknown>;
  authorization?: string | undefined;
  cookie?: string | undefined;
}

/**
 * The token of a query (an RTMP stream key, a URL): `token`, or its alias `jwt`. Empty values are
 * ignored; two tokens are TOKEN_MALFORMED rather than a guess.
 */
export function tokenFromQuery(query: URLSearchParams | Record<string, unknown>): string | undefined {
  const values = query instanceof URLSearchParams ? [...query.getAll('token'), ...query.getAll('jwt')] : [query.token, query.jwt].flat();
  const tokens = values.filter((v): v is string => typeof v === 'string' && v !== '');
  if (tokens.length > 1) throw new StagedoorError('TOKEN_MALFORMED', 'more than one token in the query');
  return tokens[0];
}

/** A client's token from `?token=`, `?jwt=`, `Authorization: Bearer`, or the cookie, in that order. */
export function tokenFromRequest({ query, authorization, cookie }: TokenSources): string | undefined {
  const fromQuery = tokenFromQuery(query);
  if (fromQuery) return fromQuery;
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
