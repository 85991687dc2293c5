// Common Access Tokens (CTA-5007) where a JWT is accepted: verified by a configured key pinned to one
// algorithm, mapped to the same grant, refused with the same codes for the same faults.
import { createRequire } from 'node:module';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyStore } from '../../../src/auth/key-store.js';
import { importTrustedKey } from '../../../src/auth/import-key.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { verifyToken } from '../../../src/auth/verify-token.js';
import { looksLikeCat } from '../../../src/auth/cat/cat-token.js';
import { CLAIM, catClaims, makeCat } from '../../helpers/cat.js';
import { sign } from '../../helpers/tokens.js';

/** The configured secret (text), and its bytes, which the MAC is made with. */
const secretText = randomBytes(32).toString('hex');
const secret = Buffer.from(secretText);
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const options = { clockToleranceSec: 0, requireExp: true };

async function storeOf(): Promise<KeyStore> {
  const config = parseConfig({
    auth: {
      keys: [
        { kid: 'hs', alg: 'HS256', secret: secretText, actions: ['publish', 'play'] },
        {
          kid: 'ec',
          alg: 'ES256',
          publicKey: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          actions: ['play'],
        },
      ],
    },
  });
  return new KeyStore(
    await Promise.all(config.auth.keys.map((k, i) => importTrustedKey(k, `auth.keys[${i}]`))),
  );
}

describe('Common Access Tokens', () => {
  it('tells a CAT from a JWT', async () => {
    expect(looksLikeCat(makeCat(catClaims('live/cam1'), { alg: 5, kid: 'hs', key: secret }))).toBe(
      true,
    );
    expect(looksLikeCat(await sign({ sub: 'x' }))).toBe(false);
  });

  it('verifies a MACed CAT (HMAC 256/256) and a signed one (ES256), mapped to the grant a JWT would give', async () => {
    const keys = await storeOf();
    const claims = catClaims('live/cam1', 300, [
      [CLAIM.iss, 'https://idp.example'],
      ['scope', 'publish'],
    ]);
    const grant = await verifyToken(
      makeCat(claims, { alg: 5, kid: 'hs', key: secret }),
      { keys },
      options,
    );
    expect(grant).toMatchObject({
      subject: 'live/cam1',
      issuer: 'https://idp.example',
      kid: 'hs',
      scopes: ['publish'],
      jti: Buffer.from(claims.get(CLAIM.cti) as Buffer).toString('base64url'),
      expiresAt: (claims.get(CLAIM.exp) as number) * 1000,
    });
    const signed = makeCat(catClaims('live/cam1'), { alg: -7, kid: 'ec', key: ec.privateKey });
    expect((await verifyToken(signed, { keys }, options)).kid).toBe('ec');
    // Without the CWT tag, and without a kid (chosen among the keys pinned to HS256).
    const bare = makeCat(catClaims('live/cam1'), { alg: 5, key: secret, cwtTag: false });
    expect((await verifyToken(bare, { keys }, options)).kid).toBe('hs');
  });

  it('refuses with the codes a JWT gets: expired, not yet valid, wrong key, unknown kid, alg not pinned, tampered', async () => {
    const keys = await storeOf();
    const refused = (token: string) => verifyToken(token, { keys }, options);
    await expect(
      refused(makeCat(catClaims('live/cam1', -10), { alg: 5, kid: 'hs', key: secret })),
    ).rejects.toMatchObject({
      code: 'TOKEN_EXPIRED',
    });
    const early = catClaims('live/cam1', 300, [[CLAIM.nbf, Math.floor(Date.now() / 1000) + 120]]);
    await expect(refused(makeCat(early, { alg: 5, kid: 'hs', key: secret }))).rejects.toMatchObject(
      {
        code: 'TOKEN_NOT_YET_VALID',
      },
    );
    await expect(
      refused(makeCat(catClaims('live/cam1'), { alg: 5, kid: 'hs', key: randomBytes(32) })),
    ).rejects.toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
    await expect(
      refused(makeCat(catClaims('live/cam1'), { alg: 5, kid: 'nope', key: secret })),
    ).rejects.toMatchObject({
      code: 'KEY_UNKNOWN',
    });
    // The key with kid hs is pinned to HS256: HS384, the truncated HMAC 256/64, and a MAC under the EC key's kid are not taken.
    for (const [alg, kid] of [
      [6, 'hs'],
      [4, 'hs'],
      [5, 'ec'],
    ] as const)
      await expect(
        refused(makeCat(catClaims('live/cam1'), { alg, kid, key: secret })),
      ).rejects.toMatchObject({
        code: 'ALG_NOT_ALLOWED',
      });
    // One byte of the payload changed after signing.
    const token = Buffer.from(
      makeCat(catClaims('live/cam1'), { alg: 5, kid: 'hs', key: secret }),
      'base64url',
    );
    const at = token.indexOf(Buffer.from('live/cam1'));
    token[at + 8] = '2'.charCodeAt(0);
    await expect(refused(token.toString('base64url'))).rejects.toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
    // No exp while exp is required.
    const noExp = new Map<number, unknown>([[CLAIM.sub, 'live/cam1']]);
    await expect(refused(makeCat(noExp, { alg: 5, kid: 'hs', key: secret }))).rejects.toMatchObject(
      {
        code: 'CLAIM_INVALID',
        claim: 'exp',
      },
    );
  });

  it('refuses registered claims under text keys and claims of the wrong type', async () => {
    const keys = await storeOf();
    for (const [label, value, claim] of [
      ['sub', 'live/other', 'sub'],
      [CLAIM.iss, 42, 'iss'],
      [CLAIM.aud, [1], 'aud'],
      [CLAIM.exp, 'soon', 'exp'],
      [CLAIM.sub, Buffer.from('live/cam1'), 'sub'],
    ] as const) {
      const claims = catClaims('live/cam1');
      claims.set(label, value);
      await expect(
        verifyToken(makeCat(claims, { alg: 5, kid: 'hs', key: secret }), { keys }, options),
      ).rejects.toMatchObject({ code: 'CLAIM_INVALID', claim });
    }
  });

  it('refuses a CAT restriction this server does not enforce (catu …) rather than admit it more widely', async () => {
    const keys = await storeOf();
    const withCatu = catClaims('live/cam1', 300, [
      [CLAIM.catu, new Map([[3, [0, '/live/cam1/']]])],
    ]);
    await expect(
      verifyToken(makeCat(withCatu, { alg: 5, kid: 'hs', key: secret }), { keys }, options),
    ).rejects.toMatchObject({ code: 'CLAIM_INVALID', claim: 'catu' });
  });

  it('accepts what @eyevinn/cat generates with the CWT tag, and refuses its untagged form (a hex text payload, not RFC 9052)', async () => {
    const { CAT } = createRequire(import.meta.url)('@eyevinn/cat') as {
      CAT: new (o: object) => { generateFromJson(d: object, o: object): Promise<string> };
    };
    const keys = await storeOf();
    const dict = {
      sub: 'live/cam1',
      exp: Math.floor(Date.now() / 1000) + 300,
      iat: Math.floor(Date.now() / 1000),
    };
    const tagged = await new CAT({ keys: { hs: secret }, expectCwtTag: true }).generateFromJson(
      dict,
      {
        type: 'mac',
        alg: 'HS256',
        kid: 'hs',
        generateCwtId: true,
      },
    );
    expect((await verifyToken(tagged, { keys }, options)).subject).toBe('live/cam1');
    const untagged = await new CAT({ keys: { hs: secret } }).generateFromJson(dict, {
      type: 'mac',
      alg: 'HS256',
      kid: 'hs',
    });
    await expect(verifyToken(untagged, { keys }, options)).rejects.toMatchObject({
      code: 'TOKEN_MALFORMED',
    });
  });
});
