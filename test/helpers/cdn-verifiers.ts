// Verifiers of each CDN's signed-URL format, written from the vendor's documentation (not from our
// signers), as the CDN applies them to a request: the tests check that what Stagedoor writes passes
// them, and that tampered, expired, other-path and other-stream URLs do not.
import { createHash, createHmac, createVerify, timingSafeEqual, type KeyObject } from 'node:crypto';
import { isIPv4 } from 'node:net';

export type Verdict = 'ok' | 'missing' | 'bad-signature' | 'expired' | 'other-path';

const equal = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Akamai Auth Token 2.0 (EdgeAuth), as a property with token verification checks it: the token in
 * `tokenName`, fields `name=value` joined by `~`, `hmac=` last over the others (key hex-decoded),
 * `exp` in the future, `st` (if any) in the past, `acl` a path pattern (`*` any characters, `!`
 * between several) matching the request path.
 */
export function verifyAkamai(url: URL, keyHex: string, now: number, tokenName = 'hdnts'): Verdict {
  const token = url.searchParams.get(tokenName);
  if (!token) return 'missing';
  const at = token.lastIndexOf('~hmac=');
  if (at < 0) return 'missing';
  const body = token.slice(0, at);
  const given = token.slice(at + '~hmac='.length);
  const expected = createHmac('sha256', Buffer.from(keyHex, 'hex')).update(body).digest('hex');
  if (!equal(given, expected)) return 'bad-signature';
  const fields = new Map(body.split('~').map((f) => f.split('=', 2) as [string, string]));
  if (!(Number(fields.get('exp')) > now / 1000)) return 'expired';
  if (fields.has('st') && Number(fields.get('st')) > now / 1000) return 'expired';
  const acl = fields.get('acl');
  if (!acl) return 'missing';
  const allowed = acl.split('!').some((pattern) => wildcard(pattern).test(url.pathname));
  return allowed ? 'ok' : 'other-path';
}

/** CloudFront's URL-safe base64 (`+`→`-`, `=`→`_`, `/`→`~`), back to bytes. */
const fromCloudFront = (text: string) =>
  Buffer.from(text.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');

/**
 * Amazon CloudFront signed URL with a custom policy, as CloudFront checks it: `Policy` (base64 of the
 * JSON), `Signature` (RSA-SHA1, or SHA-256 with `Hash-Algorithm=SHA256`, over the policy's bytes),
 * `Key-Pair-Id` naming a trusted public key; the URL without those parameters must match the
 * statement's `Resource` (`*` any characters) and `DateLessThan` be in the future.
 */
export function verifyCloudFront(url: URL, keys: Record<string, KeyObject>, now: number): Verdict {
  const policy = url.searchParams.get('Policy');
  const signature = url.searchParams.get('Signature');
  const key = keys[url.searchParams.get('Key-Pair-Id') ?? ''];
  if (!policy || !signature || !key) return 'missing';
  const json = fromCloudFront(policy);
  const hash = url.searchParams.get('Hash-Algorithm') === 'SHA256' ? 'SHA256' : 'SHA1';
  if (!createVerify(hash).update(json).verify(key, fromCloudFront(signature)))
    return 'bad-signature';
  const statement = (
    JSON.parse(json.toString()) as {
      Statement: Array<{
        Resource: string;
        Condition: { DateLessThan: { 'AWS:EpochTime': number } };
      }>;
    }
  ).Statement[0]!;
  if (!(statement.Condition.DateLessThan['AWS:EpochTime'] > now / 1000)) return 'expired';
  const rest = new URL(url);
  for (const name of ['Policy', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm'])
    rest.searchParams.delete(name);
  return wildcard(statement.Resource).test(rest.href) ? 'ok' : 'other-path';
}

/**
 * Google Cloud CDN signed URL prefix, as Cloud CDN checks it: `URLPrefix` (URL-safe base64 of the
 * prefix), `Expires`, `KeyName`, `Signature` = URL-safe base64 of HMAC-SHA1(key, the query from
 * `URLPrefix=` up to `&Signature`); the request URL must start with the prefix, before `Expires`.
 */
export function verifyGoogle(url: URL, keys: Record<string, string>, now: number): Verdict {
  const query = url.search.slice(1);
  const start = query.indexOf('URLPrefix=');
  const end = query.indexOf('&Signature=');
  if (start < 0 || end < start) return 'missing';
  const signed = query.slice(start, end);
  const params = new URLSearchParams(signed);
  const key = keys[params.get('KeyName') ?? ''];
  if (!key) return 'missing';
  const expected = createHmac('sha1', Buffer.from(key, 'base64url'))
    .update(signed)
    .digest('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
  if (!equal(query.slice(end + '&Signature='.length), expected)) return 'bad-signature';
  if (!(Number(params.get('Expires')) > now / 1000)) return 'expired';
  const prefix = Buffer.from(params.get('URLPrefix')!, 'base64url').toString();
  return `${url.origin}${url.pathname}`.startsWith(prefix) ? 'ok' : 'other-path';
}

/**
 * Bunny CDN token authentication (advanced), as Bunny documents and BunnyWay's signers compute it:
 * the scope is `token_path` (else the URL's path); every query parameter but `token` and `expires`
 * is signed, sorted by name, `k=v` joined with `&`, unencoded.
 * - `HS256-[1-]<b64url>`: HMAC-SHA256(key, scope + expires + address bytes (`1-`: bound; IPv6 cut
 *   to /64) + parameters);
 * - otherwise: SHA-256(key + scope + expires + parameters), unpadded base64url.
 */
export function verifyBunny(url: URL, key: string, now: number, clientAddress = ''): Verdict {
  const token = url.searchParams.get('token');
  const expires = url.searchParams.get('expires');
  if (!token || !expires) return 'missing';
  const rest = [...url.searchParams.entries()]
    .filter(([k]) => k !== 'token' && k !== 'expires')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const path = url.searchParams.get('token_path') ?? url.pathname;
  const params = rest.map(([k, v]) => `${k}=${v}`).join('&');
  let expected: string;
  if (token.startsWith('HS256-')) {
    const bound = token.startsWith('HS256-1-');
    if (bound && !clientAddress) return 'bad-signature';
    const ip = bound ? ipBytes(clientAddress) : Buffer.alloc(0);
    const mac = createHmac('sha256', key)
      .update(Buffer.concat([Buffer.from(`${path}${expires}`), ip, Buffer.from(params)]))
      .digest('base64')
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=/g, '');
    expected = `HS256-${bound ? '1-' : ''}${mac}`;
  } else {
    expected = createHash('sha256')
      .update(`${key}${path}${expires}${params}`)
      .digest('base64')
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=/g, '');
  }
  if (!equal(token, expected)) return 'bad-signature';
  if (!(Number(expires) > now / 1000)) return 'expired';
  return url.pathname.startsWith(path) ? 'ok' : 'other-path';
}

/** An IPv4 address's 4 bytes, or an IPv6 address's first 8 and 8 zero bytes (its /64). */
function ipBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.slice(0, 4).forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** A pattern where `*` stands for any characters, the rest literal. */
function wildcard(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/** The cookies of a Cookie header, by name (the first of each name, as a CDN reads them). */
function cookiesOf(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    if (!out.has(name)) out.set(name, part.slice(at + 1).trim());
  }
  return out;
}

/**
 * CloudFront signed cookies (custom policy), as CloudFront checks them: `CloudFront-Policy`,
 * `CloudFront-Signature`, `CloudFront-Key-Pair-Id` (and `CloudFront-Hash-Algorithm`) hold what the
 * signed URL's `Policy`, `Signature`, `Key-Pair-Id` (and `Hash-Algorithm`) would, and are checked
 * the same way against the request URL.
 */
export function verifyCloudFrontCookies(
  url: URL,
  cookie: string | undefined,
  keys: Record<string, KeyObject>,
  now: number,
): Verdict {
  const jar = cookiesOf(cookie);
  const asUrl = new URL(url);
  for (const [param, name] of [
    ['Policy', 'CloudFront-Policy'],
    ['Signature', 'CloudFront-Signature'],
    ['Key-Pair-Id', 'CloudFront-Key-Pair-Id'],
    ['Hash-Algorithm', 'CloudFront-Hash-Algorithm'],
  ] as const) {
    const value = jar.get(name);
    if (value !== undefined) asUrl.searchParams.set(param, value);
  }
  return verifyCloudFront(asUrl, keys, now);
}

/**
 * Google Cloud CDN signed cookie, as Google documents it: `Cloud-CDN-Cookie=URLPrefix=<b64>:
 * Expires=<s>:KeyName=<k>:Signature=<b64>`, the signature being URL-safe base64 of
 * HMAC-SHA1(key, "URLPrefix=…:Expires=…:KeyName=…"); the request URL must start with the prefix.
 */
export function verifyGoogleCookie(
  url: URL,
  cookie: string | undefined,
  keys: Record<string, string>,
  now: number,
): Verdict {
  const value = cookiesOf(cookie).get('Cloud-CDN-Cookie');
  const end = value?.indexOf(':Signature=') ?? -1;
  if (!value || end < 0) return 'missing';
  const signed = value.slice(0, end);
  const fields = new Map(
    signed.split(':').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]),
  );
  const key = keys[fields.get('KeyName') ?? ''];
  if (!key || !fields.get('URLPrefix')) return 'missing';
  const expected = createHmac('sha1', Buffer.from(key, 'base64url'))
    .update(signed)
    .digest('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
  if (!equal(value.slice(end + ':Signature='.length), expected)) return 'bad-signature';
  if (!(Number(fields.get('Expires')) > now / 1000)) return 'expired';
  const prefix = Buffer.from(fields.get('URLPrefix')!, 'base64url').toString();
  return `${url.origin}${url.pathname}`.startsWith(prefix) ? 'ok' : 'other-path';
}
