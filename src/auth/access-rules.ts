import { StagedoorError } from '../errors.js';
import type { BlockList } from 'node:net';
import { addressList, listHas } from '../net/client-address.js';
import type { GeoIp } from './geoip.js';
import { checkUriRules, compileUriRules, type UriRules } from './cat/catu.js';
import type { RequestUrl } from '../net/request-url.js';

export interface AccessContext {
  address: string;
  /** The Origin of an HTTP or WebSocket request (else the Referer's origin); undefined for RTMP. */
  origin: string | undefined;
  /** The URL the request was made on, for a token's `catu`; undefined where there is none. */
  url?: RequestUrl | undefined;
}

/** A token's access rules, read and compiled once (address lists built, countries lower-cased). */
export interface CompiledAccessRules {
  ips: BlockList | undefined;
  origins: readonly string[] | undefined;
  countries: readonly string[] | undefined;
  /** A CAT's `catu`: the URLs the token may be used on. */
  uri?: UriRules | undefined;
}

/**
 * Reads `access.allow.{ips, origins, countries}` and `catu` (a Common Access Token's URL rules)
 * from a token's claims: undefined when there are none; CLAIM_INVALID when one is malformed
 * (unknown kind, empty or overlong list, a bad address, an unknown URI component or match).
 */
export function compileAccessRules(
  claims: Record<string, unknown>,
  maxEntries: number,
): CompiledAccessRules | undefined {
  const uri = claims.catu === undefined ? undefined : compileUriRules(claims.catu);
  const access = claims.access;
  if (access === undefined)
    return uri ? { ips: undefined, origins: undefined, countries: undefined, uri } : undefined;
  const allow = (access as { allow?: unknown } | null)?.allow;
  if (
    typeof access !== 'object' ||
    access === null ||
    typeof allow !== 'object' ||
    allow === null ||
    Array.isArray(allow)
  ) {
    throw new StagedoorError(
      'CLAIM_INVALID',
      'access must be {"allow": {"ips"|"origins"|"countries": [...]}}',
      { claim: 'access' },
    );
  }
  const out: { ips?: string[]; origins?: string[]; countries?: string[] } = {};
  for (const [kind, list] of Object.entries(allow)) {
    if (kind !== 'ips' && kind !== 'origins' && kind !== 'countries')
      throw new StagedoorError('CLAIM_INVALID', `unknown access rule kind ${kind}`, {
        claim: 'access',
      });
    if (!Array.isArray(list) || list.some((v) => typeof v !== 'string') || list.length === 0) {
      throw new StagedoorError(
        'CLAIM_INVALID',
        `access.allow.${kind} must be a non-empty array of strings`,
        { claim: 'access' },
      );
    }
    if (list.length > maxEntries)
      throw new StagedoorError(
        'CLAIM_INVALID',
        `access.allow.${kind} has more than ${maxEntries} entries`,
        { claim: 'access' },
      );
    out[kind] = list as string[];
  }
  let ips: BlockList | undefined;
  if (out.ips) {
    try {
      ips = addressList(out.ips);
    } catch (cause) {
      throw new StagedoorError('CLAIM_INVALID', (cause as Error).message, {
        claim: 'access',
        cause,
      });
    }
  }
  return {
    ips,
    origins: out.origins,
    countries: out.countries?.map((c) => c.toLowerCase()),
    uri,
  };
}

/**
 * Does this request pass a token's access rules (`catu`: its URL; `access.allow.ips`: addresses
 * or CIDR, v4/v6; `origins`: exact; `countries`: ISO alpha-2)? Every kind present must pass (AND); within a kind one
 * entry suffices (OR). Unknown country or missing Origin fail closed.
 */
export async function checkCompiledAccessRules(
  rules: CompiledAccessRules,
  context: AccessContext,
  geo: GeoIp,
): Promise<void> {
  if (rules.uri) checkUriRules(rules.uri, context.url);
  if (rules.ips && !listHas(rules.ips, context.address)) throw new StagedoorError('IP_DENIED');
  if (rules.origins) {
    if (context.origin === undefined || !rules.origins.includes(context.origin))
      throw new StagedoorError(
        'ORIGIN_DENIED',
        context.origin === undefined
          ? 'the token requires an Origin and the request has none'
          : undefined,
      );
  }
  if (rules.countries) {
    const country = await geo.countryOf(context.address);
    if (country === undefined || !rules.countries.includes(country)) {
      throw new StagedoorError(
        'COUNTRY_DENIED',
        country === undefined ? 'the client address has no known country' : undefined,
      );
    }
  }
}

/** The origin of a request: its Origin header, else the origin of its Referer. */
export function requestOrigin(headers: {
  origin?: string | undefined;
  referer?: string | undefined;
}): string | undefined {
  if (headers.origin && headers.origin !== 'null') return headers.origin;
  if (!headers.referer) return undefined;
  try {
    return new URL(headers.referer).origin;
  } catch {
    return undefined;
  }
}
