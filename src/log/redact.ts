/**
 * Tokens and secrets must never reach a log line. `redactText` scrubs strings (URLs with
 * `?token=` or a password, stream keys, error messages that quote a token); `redactValue` walks a log object.
 */
// Also the passes and CDN tokens on media URIs (`vs`, Akamai `hdnts`, `CAT`, CloudFront `Policy` and
// `Signature`, Google's `Signature`): each opens a stream for its window.
const QUERY_SECRET =
  /([?&;](?:token|jwt|access_token|sign|key|secret|password|vs|hdnts|cat|policy|signature)=)[^&#\s"']*/gi;
const BEARER = /(\bBearer\s+)[A-Za-z0-9._~+/=-]+/gi;
// A compact JWS: base64url header that starts with '{"' (eyJ), payload, signature.
const JWT_SHAPE = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;

// A Common Access Token: base64url of CBOR opening with COSE tag 17 or 18 (0xd1 → `0[Q-f]`,
// 0xd2 → `0[g-v]`) or the CWT tag 61 (0xd8 0x3d → `2D`), and long (a MAC alone is 43 characters).
const CAT_SHAPE = /\b(?:0[Q-Za-v]|2D)[A-Za-z0-9_-]{40,}/g;

export const REDACTED = '[REDACTED]';

// An ingest key (`sk_…`), wherever it appears (an RTMP stream key, a URL path, a message).
const INGEST_KEY_SHAPE = /\bsk_[A-Za-z0-9_-]{16,}/g;

// The password in a URL's user info (`redis://user:password@host`): up to the last `@` before the
// host, so that a password holding `@` is blanked whole.
const URL_PASSWORD = /(\/\/[^:@/\s]*:)[^/\s]*@/g;

export function redactText(text: string): string {
  return text
    .replace(URL_PASSWORD, `$1${REDACTED}@`)
    .replace(QUERY_SECRET, `$1${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`)
    .replace(JWT_SHAPE, REDACTED)
    .replace(CAT_SHAPE, REDACTED)
    .replace(INGEST_KEY_SHAPE, REDACTED);
}

/**
 * A URL as it may be shown (`redis://ops:[REDACTED]@host:6379/0`): its password blanked whatever
 * it holds, read as the client reads it (WHATWG URL); text that is no URL is scrubbed as any text is.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redactText(url);
  }
  if (parsed.password === '') return redactText(url);
  const path = parsed.pathname === '/' ? '' : parsed.pathname;
  return `${parsed.protocol}//${parsed.username}:${REDACTED}@${parsed.host}${path}`;
}

const SECRET_KEYS = new Set([
  'token',
  'jwt',
  'secret',
  'password',
  'authorization',
  'cookie',
  'set-cookie',
  'apikey',
  'api_key',
  'privatekey',
  'd',
]);

/** Deep copy of a log object with secret-named fields and token-shaped strings removed. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      SECRET_KEYS.has(k.toLowerCase()) && v !== undefined ? REDACTED : redactValue(v, depth + 1);
  }
  return out;
}
