import { createHash } from 'node:crypto';
import { StagedoorError } from '../../errors.js';
import type { RequestUrl } from '../../net/request-url.js';

/*
 * The `catu` claim of a Common Access Token (CTA-5007): which URLs the token may be used on, as a
 * map from URI component to one match. Components: scheme 0, host 1, port 2, path 3, query 4,
 * parent-path 5, filename 6, stem 7, extension 8. Matches: exact 0, prefix 1, suffix 2, contains 3,
 * regex 4 (`[pattern]`), sha256 -1 and sha512/256 -2 (of the component, compared as bytes). Every
 * component named must match (AND). A CAT's claims reach the grant with labels as strings, as
 * JSON keeps them (`{"3": {"1": "/live/cam1/"}}`).
 */

const COMPONENTS = [
  'scheme',
  'host',
  'port',
  'path',
  'query',
  'parent-path',
  'filename',
  'stem',
  'extension',
] as const;
type Component = (typeof COMPONENTS)[number];
type Match =
  | { kind: 'exact' | 'prefix' | 'suffix' | 'contains'; value: string }
  | { kind: 'regex'; value: RegExp }
  | { kind: 'sha256' | 'sha512-256'; value: Buffer };

/** A catu claim, read once: each component and how it must match. */
export type UriRules = ReadonlyArray<{ component: Component; match: Match }>;

const MAX_TEXT = 1024;

const invalid = (why: string) =>
  new StagedoorError('CLAIM_INVALID', `catu: ${why}`, { claim: 'catu' });

/** Reads a catu claim (CLAIM_INVALID for an unknown component or match, or a value of the wrong type). */
export function compileUriRules(claim: unknown): UriRules {
  if (typeof claim !== 'object' || claim === null || Array.isArray(claim))
    throw invalid('must be a map of URI components');
  const entries = Object.entries(claim);
  if (entries.length === 0) throw invalid('names no URI component');
  return entries.map(([label, matchMap]) => {
    const component = /^[0-8]$/.test(label) ? COMPONENTS[Number(label)] : undefined;
    if (!component) throw invalid(`unknown URI component ${label}`);
    if (typeof matchMap !== 'object' || matchMap === null || Array.isArray(matchMap))
      throw invalid(`${component}: a match is a map of one match type`);
    const matches = Object.entries(matchMap);
    if (matches.length !== 1) throw invalid(`${component}: exactly one match type`);
    const [type, value] = matches[0]!;
    return { component, match: matchOf(component, type, value) };
  });
}

function matchOf(component: Component, type: string, value: unknown): Match {
  const text = (kind: 'exact' | 'prefix' | 'suffix' | 'contains'): Match => {
    if (typeof value !== 'string' || value.length > MAX_TEXT)
      throw invalid(`${component}: a ${kind} match is a text string`);
    return { kind, value };
  };
  switch (type) {
    case '0':
      return text('exact');
    case '1':
      return text('prefix');
    case '2':
      return text('suffix');
    case '3':
      return text('contains');
    case '4': {
      const pattern = (Array.isArray(value) ? value[0] : undefined) as unknown;
      if (typeof pattern !== 'string' || pattern.length > MAX_TEXT)
        throw invalid(`${component}: a regex match is [pattern]`);
      try {
        return { kind: 'regex', value: new RegExp(pattern) };
      } catch {
        throw invalid(`${component}: the regex does not compile`);
      }
    }
    case '-1':
    case '-2': {
      const bytes = hashBytes(value);
      if (bytes?.length !== 32) throw invalid(`${component}: a hash match is 32 bytes`);
      return { kind: type === '-1' ? 'sha256' : 'sha512-256', value: bytes };
    }
    default:
      throw invalid(`${component}: unknown match type ${type}`);
  }
}

/** A hash match's value: bytes in a CAT (given here as hex), or hex text. */
function hashBytes(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(value)) return undefined;
  return Buffer.from(value, 'hex');
}

function componentOf(url: RequestUrl, component: Component): string {
  const file = url.path.slice(url.path.lastIndexOf('/') + 1);
  const dot = file.indexOf('.');
  switch (component) {
    case 'scheme':
      return url.scheme;
    case 'host':
      return url.host;
    case 'port':
      return url.port;
    case 'path':
      return url.path;
    case 'query':
      return url.query;
    case 'parent-path':
      return url.path.slice(0, url.path.lastIndexOf('/'));
    case 'filename':
      return file;
    case 'stem':
      return dot < 0 ? file : file.slice(0, dot);
    case 'extension':
      return dot < 0 ? '' : file.slice(dot);
  }
}

function matches(value: string, match: Match): boolean {
  switch (match.kind) {
    case 'exact':
      return value === match.value;
    case 'prefix':
      return value.startsWith(match.value);
    case 'suffix':
      return value.endsWith(match.value);
    case 'contains':
      return value.includes(match.value);
    case 'regex':
      // The pattern is the issuer's, the URL the client's: a long URL is not run through a
      // backtracking regex at all (fails closed).
      return value.length <= MAX_TEXT && match.value.test(value);
    case 'sha256':
    case 'sha512-256':
      return createHash(match.kind).update(value).digest().equals(match.value);
  }
}

/** STREAM_DENIED unless the request's URL matches every component of the catu claim. */
export function checkUriRules(rules: UriRules, url: RequestUrl | undefined): void {
  if (!url)
    throw new StagedoorError(
      'STREAM_DENIED',
      'the token restricts URLs (catu) and this request has none to match',
    );
  for (const { component, match } of rules)
    if (!matches(componentOf(url, component), match))
      throw new StagedoorError(
        'STREAM_DENIED',
        `the request's ${component} is outside the token's catu`,
      );
}
