import { keyPair } from '../../helpers/keys.js';
import { randomBytes } from 'node:crypto';
import { SignJWT, base64url } from 'jose';
import { describe, expect, it } from 'vitest';
import { importTrustedKey } from '../../../src/auth/import-key.js';
import { KeyStore } from '../../../src/auth/key-store.js';
import { verifyToken } from '../../../src/auth/verify-token.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { ErrorCode, StagedoorError } from '../../../src/errors.js';

const NOW = 1_800_000_000_000; // frozen clock (ms)
const nowSec = NOW / 1000;
const secret = randomBytes(32).toString('hex');
const otherSecret = randomBytes(32).toString('hex');
const rsa = keyPair('rsa', { modulusLength: 2048 });
const ec = keyPair('ec', { namedCurve: 'P-256' });
const ed = keyPair('ed25519');
const pem = (k: { export(o: object): string | Buffer }) =>
  k.export({ type: 'spki', format: 'pem' }).toString();

async function store(keys: Array<Record<string, unknown>>): Promise<KeyStore> {
  const config = parseConfig({ auth: { keys } });
  return new KeyStore(
    await Promise.all(config.auth.keys.map((k, i) => importTrustedKey(k, `auth.keys[${i}]`))),
  );
}

const keys = await store([
  { kid: 'hs', alg: 'HS256', secret },
  { kid: 'rs', alg: 'RS256', publicKey: pem(rsa.publicKey) },
  { kid: 'es', alg: 'ES256', publicKey: pem(ec.publicKey) },
  { kid: 'ed', alg: 'EdDSA', publicKey: pem(ed.publicKey) },
  { kid: 'ps', alg: 'PS256', publicKey: pem(rsa.publicKey) },
]);
const options = { clockToleranceSec: 0, requireExp: true };
const claims = (extra: Record<string, unknown> = {}) => ({
  sub: 'live/cam1',
  scope: 'publish',
  exp: nowSec + 60,
  iat: nowSec - 1,
  ...extra,
});
const hs = (
  c = claims(),
  header: Record<string, unknown> = { kid: 'hs' },
  key: Uint8Array = new TextEncoder().encode(secret),
) => new SignJWT(c).setProtectedHeader({ alg: 'HS256', ...header }).sign(key);

async function codeOf(
  token: string,
  verifyWith: KeyStore = keys,
  opts = options,
): Promise<ErrorCode> {
  try {
    await verifyToken(token, { keys: verifyWith }, opts, NOW);
  } catch (error) {
    return (error as StagedoorError).code;
  }
  throw new Error('expected a refusal');
}

const part = (v: unknown) => base64url.encode(JSON.stringify(v));

describe('verifyToken', () => {
  it('verifies HS256, RS256, PS256, ES256 and EdDSA with the key named by kid, and returns the grant', async () => {
    const grant = await verifyToken(await hs(claims({ jti: 'j1' })), { keys }, options, NOW);
    expect(grant).toMatchObject({
      subject: 'live/cam1',
      scopes: ['publish'],
      jti: 'j1',
      tokenId: 'j1',
      kid: 'hs',
      expiresAt: (nowSec + 60) * 1000,
    });
    for (const [alg, kid, key] of [
      ['RS256', 'rs', rsa.privateKey],
      ['PS256', 'ps', rsa.privateKey],
      ['ES256', 'es', ec.privateKey],
      ['EdDSA', 'ed', ed.privateKey],
    ] as const) {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg, kid }).sign(key);
      expect((await verifyToken(token, { keys }, options, NOW)).kid).toBe(kid);
    }
  });

  it('gives a JWT without jti one identity, whatever spare bits its signature segment carries', async () => {
    const token = await hs(claims(), { kid: 'hs' });
    // HMAC-SHA256: 32 bytes in 43 characters, the last one's two low bits spare.
    const last = token.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = token.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
    const first = await verifyToken(token, { keys }, options, NOW);
    let second;
    try {
      second = await verifyToken(twin, { keys }, options, NOW);
    } catch (error) {
      // A verifier that reads base64url strictly refuses the twin: equally fine.
      expect((error as StagedoorError).code).toBe('SIGNATURE_INVALID');
    }
    if (second) expect(second.tokenId).toBe(first.tokenId);
    const other = await verifyToken(await hs(claims({ sub: 'live/cam2' })), { keys }, options, NOW);
    expect(other.tokenId).not.toBe(first.tokenId);
  });

  it('without a kid, tries the keys pinned to the token alg', async () => {
    const twoHs = await store([
      { alg: 'HS256', secret: otherSecret },
      { alg: 'HS256', secret },
    ]);
    expect((await verifyToken(await hs(claims(), {}), { keys: twoHs }, options, NOW)).subject).toBe(
      'live/cam1',
    );
    expect(
      (await verifyToken(await hs(claims(), {}), { keys: twoHs }, options, NOW)).tokenId,
    ).toMatch(/^sha256:/);
  });

  const refusals: Array<readonly [ErrorCode, () => Promise<string>]> = [
    ['TOKEN_MALFORMED', async () => 'garbage'],
    ['TOKEN_MALFORMED', async () => `${'a'.repeat(9000)}.b.c`],
    ['TOKEN_MALFORMED', async () => 'bm90IGpzb24.e30.c2ln'],
    [
      'TOKEN_MALFORMED',
      async () =>
        `${part({ alg: 'HS256', kid: 'hs', crit: ['exp'], exp: 1 })}.${part(claims())}.sig`,
    ],
    ['ALG_NOT_ALLOWED', async () => `${part({ alg: 'none' })}.${part(claims())}.`],
    ['ALG_NOT_ALLOWED', async () => `${part({ alg: 'NONE', kid: 'hs' })}.${part(claims())}.`],
    ['ALG_NOT_ALLOWED', async () => hs(claims(), { kid: 'rs' })],
    [
      'ALG_NOT_ALLOWED',
      async () =>
        new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS512' })
          .sign(new TextEncoder().encode(secret.repeat(2))),
    ],
    ['KEY_UNKNOWN', async () => hs(claims(), { kid: 'who' })],
    [
      'SIGNATURE_INVALID',
      async () => hs(claims(), { kid: 'hs' }, new TextEncoder().encode(otherSecret)),
    ],
    ['SIGNATURE_INVALID', async () => `${(await hs()).split('.').slice(0, 2).join('.')}.`],
    ['TOKEN_EXPIRED', async () => hs(claims({ exp: nowSec - 1 }))],
    ['TOKEN_EXPIRED', async () => hs(claims({ exp: nowSec - 0.5 }))],
    ['TOKEN_NOT_YET_VALID', async () => hs(claims({ nbf: nowSec + 10 }))],
    ['TOKEN_NOT_YET_VALID', async () => hs(claims({ iat: nowSec + 10 }))],
    ['CLAIM_INVALID', async () => hs(claims({ exp: undefined }))],
    ['CLAIM_INVALID', async () => hs({ ...claims(), exp: String(nowSec + 60) } as never)],
    ['CLAIM_INVALID', async () => hs(claims({ sub: 42 }))],
    ['CLAIM_INVALID', async () => hs(claims({ scope: { publish: true } }))],
  ];
  it.each(refusals)('refuses with %s (%#)', async (code, make) => {
    expect(await codeOf(await make())).toBe(code);
  });

  it('applies the clock tolerance to exp and nbf, and moves the session end by it', async () => {
    const lenient = { clockToleranceSec: 5, requireExp: true };
    const grant = await verifyToken(
      await hs(claims({ exp: nowSec - 2, nbf: nowSec + 3 })),
      { keys },
      lenient,
      NOW,
    );
    expect(grant.expiresAt).toBe((nowSec + 3) * 1000);
  });

  it('accepts tokens without exp only when exp is not required', async () => {
    const noExp = await hs(claims({ exp: undefined }));
    expect(
      (await verifyToken(noExp, { keys }, { clockToleranceSec: 0, requireExp: false }, NOW))
        .expiresAt,
    ).toBeUndefined();
  });

  it('ignores jku, x5u and jwk headers: the key always comes from config', async () => {
    const attacker = keyPair('rsa', { modulusLength: 2048 });
    const token = await new SignJWT(claims())
      .setProtectedHeader({
        alg: 'RS256',
        kid: 'rs',
        jku: 'http://127.0.0.1:1/jwks',
        x5u: 'http://127.0.0.1:1/x',
        jwk: attacker.publicKey.export({ format: 'jwk' }) as never,
      })
      .sign(attacker.privateKey);
    expect(await codeOf(token)).toBe('SIGNATURE_INVALID');
  });
});
