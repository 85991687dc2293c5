import { keyPair } from './keys.js';
import { randomBytes, createHmac, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload, type JWSHeaderParameters } from 'jose';

export const HS_SECRET = randomBytes(32).toString('hex');

export interface RsaPair {
  privateKey: KeyObject;
  publicPem: string;
  pkcs1Pem: string;
}

export function rsaPair(): RsaPair {
  const { privateKey, publicKey } = keyPair('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    pkcs1Pem: publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}

export const nowSec = (): number => Math.floor(Date.now() / 1000);

/** Signs claims with a header of the test's choosing (alg defaults to HS256 with HS_SECRET). */
export async function sign(
  claims: JWTPayload,
  header: Partial<JWSHeaderParameters> = {},
  key: KeyObject | Uint8Array = new TextEncoder().encode(HS_SECRET),
): Promise<string> {
  const alg = header.alg ?? 'HS256';
  return new SignJWT(claims).setProtectedHeader({ ...header, alg }).sign(key);
}

/** A token valid for `ttl` seconds for stream `sub` with the given scope. */
export function token(
  sub: string,
  scope: string,
  ttl = 300,
  header: Partial<JWSHeaderParameters> = { kid: 'hs' },
): Promise<string> {
  return sign({ sub, scope, exp: nowSec() + ttl, iat: nowSec() }, header);
}

const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`). */
export function unsignedToken(claims: JWTPayload): string {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
}

/** HS256 token signed with arbitrary bytes as the secret (e.g. an RSA public key PEM: alg confusion). */
export function hsTokenWithSecret(
  claims: JWTPayload,
  secret: string,
  header: Record<string, unknown>,
): string {
  const head = `${b64url({ ...header, alg: 'HS256' })}.${b64url(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}
