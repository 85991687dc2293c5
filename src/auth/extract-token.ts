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
export function tokenFromQuery(
  query: URLSearchParams | Record<string, unknown>,
): string | undefined {
  // Most HLS requests carry a pass, not a token: nothing to gather.
  if (!(query instanceof URLSearchParams) && query.token === undefined && query.jwt === undefined)
    return undefined;
  const values =
    query instanceof URLSearchParams
      ? [...query.getAll('token'), ...query.getAll('jwt')]
      : [query.token, query.jwt].flat();
  const tokens = values.filter((v): v is string => typeof v === 'string' && v !== '');
  if (tokens.length > 1)
    throw new StagedoorError('TOKEN_MALFORMED', 'more than one token in the query');
  return tokens[0];
}

/**
 * The ingest key of a query (`cam1?key=sk_…`), standing for a token exchanged earlier; undefined
 * when there is none. A key beside a token is TOKEN_MALFORMED rather than a guess.
 */
export function ingestKeyFromQuery(query: URLSearchParams): string | undefined {
  const keys = query.getAll('key').filter((v) => v !== '');
  if (keys.length === 0) return undefined;
  if (keys.length > 1 || tokenFromQuery(query) !== undefined)
    throw new StagedoorError('TOKEN_MALFORMED', 'send one of token, jwt or key');
  return keys[0];
}

/**
 * What an RTMP or WebSocket client presents: an ingest key (`key=sk_…`) or else a token (query, or `Authorization:
 * Bearer` where the protocol has headers). Never a cookie: a foreign page could ride on it.
 */
export function clientCredentials(
  query: URLSearchParams,
  authorization?: string,
): { token?: string | undefined; ingestKey?: string | undefined } {
  const ingestKey = ingestKeyFromQuery(query);
  if (ingestKey !== undefined) return { ingestKey };
  return { token: tokenFromRequest({ query, authorization }) };
}

/** A client's token from `?token=`, `?jwt=`, `Authorization: Bearer`, or the cookie, in that order. */
export function tokenFromRequest({
  query,
  authorization,
  cookie,
}: TokenSources): string | undefined {
  const fromQuery = tokenFromQuery(query);
  if (fromQuery) return fromQuery;
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match)
      throw new StagedoorError('TOKEN_MALFORMED', 'Authorization must be "Bearer <token>"');
    return match[1];
  }
  if (cookie) {
    for (const part of cookie.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === TOKEN_COOKIE)
        return decodeCookieValue(part.slice(eq + 1).trim());
    }
  }
  return undefined;
}

function decodeCookieValue(value: string): string | undefined {
  try {
    return decodeURIComponent(value) || undefined;
  } catch (cause) {
    throw new StagedoorError(
      'TOKEN_MALFORMED',
      `the ${TOKEN_COOKIE} cookie is not URL-encoded text`,
      { cause },
    );
  }
}
