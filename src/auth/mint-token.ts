import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { TrustedKey } from './import-key.js';

export interface MintOptions {
  subject?: string;
  scope?: string;
  ttlSec: number;
  jti?: string;
  now?: number;
  /** Extra claims, e.g. `access`. */
  claims?: Record<string, unknown>;
}

/** Signs a token with a key whose secret the server holds (HS keys): banner, token tool, tests. */
export async function mintToken(key: TrustedKey, options: MintOptions): Promise<string> {
  if (!key.secret)
    throw new TypeError(`key ${key.source} has no secret on this server and cannot sign`);
  const nowSec = Math.floor((options.now ?? Date.now()) / 1000);
  const jwt = new SignJWT({ ...options.claims, ...(options.scope ? { scope: options.scope } : {}) })
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(key.kid ? { kid: key.kid } : {}) })
    .setIssuedAt(nowSec)
    .setExpirationTime(nowSec + options.ttlSec)
    .setJti(options.jti ?? randomUUID());
  if (options.subject) jwt.setSubject(options.subject);
  return jwt.sign(key.secret);
}
