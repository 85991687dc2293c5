// Stagedoor segment pass verifier for nginx njs (0.7 and later): the edge checks every segment
// request's pass alone, with the edge keys it is given, and never talks to the origin to do it.
//
// A segment pass is `<kid>.<exp>.<viewer>.<mac>` in the `vs` query parameter, where
//   mac = first 22 characters of base64url(HMAC-SHA256(secret, "<kid>.<exp>.<viewer>.<dir>"))
//   dir = the request path up to its last "/", e.g. "/live/cam1/"
// and exp is in seconds since the epoch. src/delivery/pass/segment-pass.ts signs the same way; the
// test vectors in test-vectors.json are checked against both.
import crypto from 'crypto';
import cat from './cat.js';

const MAC_CHARS = 22;

/** `kid:secret kid:secret …` from `js_var $stagedoor_edge_keys` (see edge-keys.conf). */
function edgeKeys(r) {
  const keys = {};
  const text = r.variables.stagedoor_edge_keys || '';
  text.split(/\s+/).forEach(function (pair) {
    const colon = pair.indexOf(':');
    if (colon > 0) keys[pair.slice(0, colon)] = pair.slice(colon + 1);
  });
  return keys;
}

/** Compares two strings in time independent of where they differ. */
function sameString(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Why the pass on `r` is refused, or "ok": one of ok, missing, malformed, unknown-key, expired, forged. */
function check(value, uri, keys, nowMs) {
  if (!value) return 'missing';
  const parts = value.split('.');
  if (parts.length !== 4) return 'malformed';
  const kid = parts[0];
  const exp = parts[1];
  const viewer = parts[2];
  const mac = parts[3];
  if (!/^\d{1,12}$/.test(exp) || mac.length !== MAC_CHARS) return 'malformed';
  const secret = keys[kid];
  if (!secret) return 'unknown-key';
  const dir = uri.slice(0, uri.lastIndexOf('/') + 1);
  const expected = crypto
    .createHmac('sha256', secret)
    .update(kid + '.' + exp + '.' + viewer + '.' + dir)
    .digest('base64url')
    .slice(0, MAC_CHARS);
  if (!sameString(mac, expected)) return 'forged';
  if (Number(exp) * 1000 <= nowMs) return 'expired';
  return 'ok';
}

/**
 * For `js_set $stagedoor_pass pass.verify;`: Stagedoor's own pass (`vs`), or, where
 * `$stagedoor_pass_format` is "cat", a Common Access Token in `$stagedoor_cat_param` (cat.js).
 */
function verify(r) {
  if (r.variables.stagedoor_pass_format === 'cat') {
    const keys = cat.catKeys(r.variables.stagedoor_cat_keys);
    return cat.checkCat(r.args[r.variables.stagedoor_cat_param || 'CAT'], r.uri, keys, Date.now());
  }
  return check(r.args.vs, r.uri, edgeKeys(r), Date.now());
}

/**
 * The Access-Control-Allow-Origin the edge sends with a cached segment: `*`, or the request's
 * Origin when `js_var $stagedoor_cors_origins` (the origin's http.corsOrigins, space-separated)
 * lists it, else nothing. The cached copy itself is fetched without an Origin, so it is the same
 * for everyone and never carries another request's answer.
 */
function corsOrigin(r) {
  const allowed = (r.variables.stagedoor_cors_origins || '').split(/\s+/);
  if (allowed.indexOf('*') >= 0) return '*';
  const origin = r.headersIn.Origin;
  return origin && allowed.indexOf(origin) >= 0 ? origin : '';
}

export default { verify, check, corsOrigin };
