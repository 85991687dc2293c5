import { createPublicKey, type KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../state/atomic-write.js';
import { dirname } from 'node:path';
import { importJWK, importSPKI, type CryptoKey, type JWK } from 'jose';
import { configError } from '../config/config-error.js';
import type { Action, KeyConfig, SessionLimitsConfig, SupportedAlg } from '../config/schema.js';

/** A key ready for verification: its alg is pinned and never taken from the token. */
export interface TrustedKey {
  kid: string | undefined;
  alg: SupportedAlg;
  key: CryptoKey | Uint8Array;
  /** The most a token signed by this key may do. */
  actions: ReadonlySet<Action>;
  /** `stream`: the token's sub names the stream it is for; `principal`: sub is a user or client id. */
  subject: 'stream' | 'principal';
  /** Refuse this key's tokens when they carry no `sub` (stream-subject keys only). */
  requireSub: boolean;
  /** Present for HS keys: lets the server mint tokens (banner, token tool). */
  secret?: Uint8Array;
  /** Where the key came from, for log lines: `auth.keys[0]`. */
  source: string;
  /** Stream patterns this key is limited to (keys of a stream's own security settings). */
  streams?: readonly string[];
  /** Concurrent sessions per subject for this key's tokens (`maxSessionsPerSubject`). */
  sessionLimits?: SessionLimitsConfig;
}

const MIN_SECRET_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };

/** Reads a secret file, creating it (random, mode 0600, atomically) when asked and absent. */
export function readSecretFile(path: string, createIfMissing: boolean, bytes = 48): string {
  if (!existsSync(path)) {
    if (!createIfMissing) throw new Error(`secret file ${path} does not exist`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileAtomicSync(path, `${randomBytes(bytes).toString('base64url')}\n`, 0o600);
  }
  return readFileSync(path, 'utf8').trim();
}

function expectedKeyType(alg: SupportedAlg): { type: string; curve?: string } {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return { type: 'rsa' };
  if (alg === 'ES256') return { type: 'ec', curve: 'prime256v1' };
  if (alg === 'ES384') return { type: 'ec', curve: 'secp384r1' };
  return { type: 'ed25519' };
}

function checkKeyMatchesAlg(keyObject: KeyObject, alg: SupportedAlg, where: string): void {
  if (keyObject.type !== 'public')
    throw configError(
      where,
      'expected a public key, got a private key: never give Stagedoor a signing key',
    );
  const want = expectedKeyType(alg);
  const type = keyObject.asymmetricKeyType;
  const okType =
    alg === 'EdDSA'
      ? type === 'ed25519' || type === 'ed448'
      : type === want.type || (want.type === 'rsa' && type === 'rsa-pss');
  if (!okType) throw configError(where, `${alg} needs a ${want.type} key, got ${type}`);
  if (want.curve && keyObject.asymmetricKeyDetails?.namedCurve !== want.curve) {
    throw configError(
      where,
      `${alg} needs curve ${want.curve}, got ${keyObject.asymmetricKeyDetails?.namedCurve}`,
    );
  }
  if (want.type === 'rsa' && (keyObject.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw configError(where, 'RSA keys must be at least 2048 bits');
  }
}

/** Turns one `auth.keys[]` entry into a TrustedKey; a bad entry is a CONFIG_INVALID naming it. */
export async function importTrustedKey(
  config: KeyConfig,
  where: string,
  streams?: readonly string[],
): Promise<TrustedKey> {
  const base = {
    kid: config.kid,
    alg: config.alg,
    actions: new Set(config.actions),
    subject: config.subject,
    requireSub: config.requireSub,
    source: where,
    ...(streams ? { streams } : {}),
    ...(config.maxSessionsPerSubject ? { sessionLimits: config.maxSessionsPerSubject } : {}),
  };
  if (config.secret !== undefined || config.secretFile !== undefined) {
    let text: string;
    try {
      text = config.secret ?? readSecretFile(config.secretFile!, config.createIfMissing);
    } catch (cause) {
      throw configError(`${where}.secretFile`, (cause as Error).message, cause);
    }
    const secret = new TextEncoder().encode(text);
    const min = MIN_SECRET_BYTES[config.alg] ?? 32;
    if (secret.byteLength < min)
      throw configError(
        where,
        `${config.alg} secrets must be at least ${min} bytes (got ${secret.byteLength})`,
      );
    return { ...base, key: secret, secret };
  }
  if (config.jwk !== undefined) {
    const jwk = config.jwk as JWK;
    if ('d' in jwk || 'k' in jwk)
      throw configError(
        `${where}.jwk`,
        'the JWK holds private or symmetric key material; give the public JWK',
      );
    if (jwk.alg !== undefined && jwk.alg !== config.alg)
      throw configError(
        `${where}.jwk`,
        `the JWK says alg ${jwk.alg} but the key is configured for ${config.alg}`,
      );
    try {
      const key = await importJWK(jwk, config.alg);
      return { ...base, kid: config.kid ?? jwk.kid, key: key as CryptoKey };
    } catch (cause) {
      throw configError(
        `${where}.jwk`,
        `cannot import the JWK for ${config.alg}: ${(cause as Error).message}`,
        cause,
      );
    }
  }
  const field = config.publicKey !== undefined ? 'publicKey' : 'publicKeyFile';
  let pem: string;
  try {
    pem = config.publicKey ?? readFileSync(config.publicKeyFile!, 'utf8');
  } catch (cause) {
    throw configError(`${where}.${field}`, `cannot read ${config.publicKeyFile}`, cause);
  }
  let keyObject: KeyObject;
  try {
    // Node reads SPKI, PKCS#1 ("RSA PUBLIC KEY") and X.509 certificates alike.
    keyObject = createPublicKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw configError(
      `${where}.${field}`,
      'not a PEM public key (SPKI, PKCS#1) or X.509 certificate',
      cause,
    );
  }
  if (/PRIVATE KEY-----/.test(pem))
    throw configError(
      `${where}.${field}`,
      'expected a public key, got a private key: never give Stagedoor a signing key',
    );
  checkKeyMatchesAlg(keyObject, config.alg, `${where}.${field}`);
  const spki = keyObject.export({ type: 'spki', format: 'pem' }).toString();
  const key = await importSPKI(spki, config.alg);
  return { ...base, key: key as CryptoKey };
}
