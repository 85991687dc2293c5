// Common Access Token (CTA-5007) segment pass verifier for nginx njs (0.7 and later), and for Node:
// the edge checks a CAT on every segment request alone, with the CAT keys it is given.
//
// A CAT here is base64url of a COSE_Mac0 (RFC 9052, tag 17, optionally inside the CWT tag 61) with
//   protected header {1 (alg): 5 (HMAC 256/256)}, kid (label 4, a byte string) in either header,
//   a CWT payload (RFC 8392) holding exp (4, required), catu (312, required) and any of nbf (5),
//   iat (6), sub (2), iss (1), cti (7), catv (310, must be 1) and catr (323, a renewal
//   instruction: this edge does not renew, players reload playlists for new passes).
// Any other claim restricts use in a way this edge does not check, so the token is refused.
// catu may test the path (3), parent-path (5), filename (6), stem (7) or extension (8) with an
// exact (0), prefix (1), suffix (2) or contains (3) match; scheme, host, port, query, regex and
// hash matches are refused (the edge cannot see the first ones as the viewer did).
// src/delivery/pass/cdn/cat-pass-token.ts writes these; test-vectors.json holds some of its tokens.
import crypto from 'crypto';

const MAX_TOKEN_CHARS = 2048;
const MAX_DEPTH = 6;

/** `kid:hexkey kid:hexkey …` from `js_var $stagedoor_cat_keys` (see edge-keys.conf). */
function catKeys(text) {
  const keys = Object.create(null); // a kid such as `constructor` finds nothing inherited
  (text || '').split(/\s+/).forEach(function (pair) {
    const colon = pair.indexOf(':');
    if (colon > 0 && /^([0-9a-fA-F]{2}){32,}$/.test(pair.slice(colon + 1)))
      keys[pair.slice(0, colon)] = Buffer.from(pair.slice(colon + 1), 'hex');
  });
  return keys;
}

/*
 * A small CBOR reader (RFC 8949) for what a CAT holds: integers up to 2^53, byte and text strings,
 * arrays, maps (as [key, value] pairs, duplicate keys refused), tags, false, true and null.
 * Floats, indefinite lengths and anything else throw, as does a byte after the item.
 */
function Bytes(buf) {
  this.buf = buf;
}
function Tagged(tag, value) {
  this.tag = tag;
  this.value = value;
}

function decode(buf) {
  const state = { buf: buf, at: 0 };
  const value = item(state, 0);
  if (state.at !== buf.length) throw new Error('bytes after the CBOR item');
  return value;
}

function take(state, n) {
  if (state.at + n > state.buf.length) throw new Error('truncated');
  const slice = state.buf.slice(state.at, state.at + n);
  state.at += n;
  return slice;
}

function argument(state, info) {
  if (info < 24) return info;
  const size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
  if (!size) throw new Error('indefinite or reserved length');
  const bytes = take(state, size);
  let n = 0;
  for (let i = 0; i < size; i++) n = n * 256 + bytes[i];
  if (n > Number.MAX_SAFE_INTEGER) throw new Error('integer too large');
  return n;
}

function item(state, depth) {
  if (depth > MAX_DEPTH) throw new Error('nested too deep');
  const head = take(state, 1)[0];
  const major = head >> 5;
  const info = head & 31;
  if (major === 7) {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    throw new Error('unsupported simple value or float');
  }
  const n = argument(state, info);
  if (major === 0) return n;
  if (major === 1) return -1 - n;
  if (major === 2) return new Bytes(take(state, n));
  if (major === 3) return take(state, n).toString('utf8');
  if (major === 6) return new Tagged(n, item(state, depth + 1));
  if (n > state.buf.length) throw new Error('truncated');
  const out = [];
  for (let i = 0; i < n; i++) {
    if (major === 4) out.push(item(state, depth + 1));
    else {
      const key = item(state, depth + 1);
      if (typeof key !== 'number' && typeof key !== 'string') throw new Error('map key type');
      if (find(out, key) !== undefined) throw new Error('duplicate map key');
      out.push([key, item(state, depth + 1)]);
    }
  }
  return major === 5 ? { pairs: out } : out;
}

/** The value under `key` in a decoded map, or undefined. */
function find(pairs, key) {
  for (let i = 0; i < pairs.length; i++) if (pairs[i][0] === key) return pairs[i][1];
  return undefined;
}

const isMap = (v) => v !== null && typeof v === 'object' && Array.isArray(v.pairs);
const isInt = (v) => typeof v === 'number' && Math.floor(v) === v;

/** CBOR head for a byte string of `length` bytes. */
function bytesHead(length) {
  if (length < 24) return Buffer.from([0x40 + length]);
  if (length < 256) return Buffer.from([0x58, length]);
  if (length < 65536) return Buffer.from([0x59, length >> 8, length & 255]);
  throw new Error('too long');
}

/** The COSE MAC_structure ["MAC0", protected, h'', payload], CBOR-encoded, as RFC 9052 §6.3 builds it. */
function macStructure(protectedBytes, payload) {
  return Buffer.concat([
    Buffer.from([0x84, 0x64, 0x4d, 0x41, 0x43, 0x30]), // array(4), "MAC0"
    bytesHead(protectedBytes.length),
    protectedBytes,
    Buffer.from([0x40]),
    bytesHead(payload.length),
    payload,
  ]);
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** The part of the path a catu component tests, or undefined for one the edge cannot test. */
function component(label, path) {
  const file = path.slice(path.lastIndexOf('/') + 1);
  const dot = file.indexOf('.');
  if (label === 3) return path;
  if (label === 5) return path.slice(0, path.lastIndexOf('/'));
  if (label === 6) return file;
  if (label === 7) return dot < 0 ? file : file.slice(0, dot);
  if (label === 8) return dot < 0 ? '' : file.slice(dot);
  return undefined;
}

/** 'ok', 'other-path' or 'unsupported-claim' for a catu claim against the request path. */
function checkCatu(catu, path) {
  if (!isMap(catu) || catu.pairs.length === 0) return 'malformed';
  for (let i = 0; i < catu.pairs.length; i++) {
    const value = component(catu.pairs[i][0], path);
    const match = catu.pairs[i][1];
    if (value === undefined) return 'unsupported-claim';
    if (!isMap(match) || match.pairs.length !== 1) return 'malformed';
    const kind = match.pairs[0][0];
    const want = match.pairs[0][1];
    if (typeof want !== 'string') return kind >= 0 && kind <= 3 ? 'malformed' : 'unsupported-claim';
    let ok;
    if (kind === 0) ok = value === want;
    else if (kind === 1) ok = value.slice(0, want.length) === want;
    else if (kind === 2)
      ok = want.length <= value.length && value.slice(value.length - want.length) === want;
    else if (kind === 3) ok = value.indexOf(want) >= 0;
    else return 'unsupported-claim';
    if (!ok) return 'other-path';
  }
  return 'ok';
}

/**
 * Why the CAT `value` does not admit a request for `path` (the request's URI path), or 'ok': one of
 * ok, missing, malformed, unknown-key, forged, expired, not-yet, other-path, unsupported-claim.
 */
function checkCat(value, path, keys, nowMs) {
  if (!value) return 'missing';
  if (value.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(value)) return 'malformed';
  let message;
  let header;
  let claims;
  try {
    message = decode(Buffer.from(value, 'base64url'));
    if (message instanceof Tagged && message.tag === 61) message = message.value;
    if (!(message instanceof Tagged) || message.tag !== 17) return 'malformed';
    message = message.value;
    if (!Array.isArray(message) || message.length !== 4) return 'malformed';
    if (!(message[0] instanceof Bytes) || !isMap(message[1])) return 'malformed';
    if (!(message[2] instanceof Bytes) || !(message[3] instanceof Bytes)) return 'malformed';
    header = message[0].buf.length === 0 ? { pairs: [] } : decode(message[0].buf);
    claims = decode(message[2].buf);
  } catch (e) {
    return 'malformed';
  }
  if (!isMap(header) || !isMap(claims)) return 'malformed';
  // The algorithm is protected and pinned; crit (2) is not supported.
  if (find(header.pairs, 1) !== 5) return 'malformed';
  if (find(header.pairs, 2) !== undefined || find(message[1].pairs, 2) !== undefined)
    return 'malformed';
  if (find(message[1].pairs, 1) !== undefined) return 'malformed';
  const kidBytes = find(header.pairs, 4) || find(message[1].pairs, 4);
  if (!(kidBytes instanceof Bytes)) return 'unknown-key';
  const kid = kidBytes.buf.toString('utf8');
  const key = Object.prototype.hasOwnProperty.call(keys, kid) ? keys[kid] : undefined;
  if (!(key instanceof Buffer)) return 'unknown-key';
  const mac = crypto
    .createHmac('sha256', key)
    .update(macStructure(message[0].buf, message[2].buf))
    .digest();
  if (!sameBytes(message[3].buf, mac)) return 'forged';
  let catu;
  let exp;
  for (let i = 0; i < claims.pairs.length; i++) {
    const label = claims.pairs[i][0];
    const v = claims.pairs[i][1];
    if (label === 4 || label === 5 || label === 6) {
      if (!isInt(v)) return 'malformed';
      if (label === 4) exp = v;
      if (label === 5 && v * 1000 > nowMs) return 'not-yet';
    } else if (label === 312) catu = v;
    else if (label === 310) {
      if (v !== 1) return 'unsupported-claim';
    } else if (label === 323) {
      if (!isMap(v)) return 'malformed';
    } else if (label === 1 || label === 2) {
      if (typeof v !== 'string') return 'malformed';
    } else if (label === 7) {
      if (!(v instanceof Bytes)) return 'malformed';
    } else return 'unsupported-claim';
  }
  if (exp === undefined || catu === undefined) return 'malformed';
  if (exp * 1000 <= nowMs) return 'expired';
  return checkCatu(catu, path);
}

export default { checkCat, catKeys };
