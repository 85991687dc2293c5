import { StagedoorError } from '../../errors.js';

/** The token of an RTMP stream key or URL query: `token`, or its alias `jwt`. */
export function tokenFromQuery(query: URLSearchParams): string | undefined {
  const values = [...query.getAll('token'), ...query.getAll('jwt')];
  if (values.length > 1) throw new StagedoorError('TOKEN_MALFORMED', 'more than one token in the query');
  return values[0] || undefined;
}
