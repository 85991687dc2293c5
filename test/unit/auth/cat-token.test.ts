// Common Access Tokens (CTA-5007) where a JWT is accepted: verified by a configured key pinned to one
// algorithm, mapped to the same grant, refused with the same codes for the same faults.
import { createRequire } from 'node:module';
import { createHmac, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyStore } from '../../../src/auth/key-store.js';
import { importTrustedKey } from '../../../src/auth/import-key.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { verifyToken } from '../../../src/auth/verify-token.js';
import { looksLikeCat, parseCat } from '../../../src/auth/cat/cat-token.js';
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

  it('refuses registered claims under text keys and claims of the wrong type (time claims must be finite)', async () => {
    const keys = await storeOf();
    for (const [label, value, claim] of [
      ['sub', 'live/other', 'sub'],
      [CLAIM.iss, 42, 'iss'],
      [CLAIM.aud, [1], 'aud'],
      [CLAIM.exp, 'soon', 'exp'],
      [CLAIM.sub, Buffer.from('live/cam1'), 'sub'],
      // Not finite: CBOR can carry NaN and infinities, JSON cannot.
      [CLAIM.nbf, Number.NaN, 'nbf'],
      [CLAIM.nbf, -Infinity, 'nbf'],
      [CLAIM.iat, Number.NaN, 'iat'],
      [CLAIM.exp, Infinity, 'exp'],
    ] as const) {
      const claims = catClaims('live/cam1');
      claims.set(label, value);
      await expect(
        verifyToken(makeCat(claims, { alg: 5, kid: 'hs', key: secret }), { keys }, options),
      ).rejects.toMatchObject({ code: 'CLAIM_INVALID', claim });
    }
  });

  it('refuses what is not authenticated: unprotected header parameters but the kid, a kid given twice', async () => {
    const keys = await storeOf();
    const claims = catClaims('live/cam1');
    for (const unprotected of [
      new Map<number, unknown>([[99, 1]]),
      new Map<number, unknown>([[5, Buffer.alloc(12)]]), // an IV
      new Map<number, unknown>([[4, Buffer.from('hs')]]), // beside the protected kid
    ])
      await expect(
        verifyToken(
          makeCat(claims, { alg: 5, kid: 'hs', key: secret, unprotected }),
          { keys },
          options,
        ),
      ).rejects.toMatchObject({ code: 'TOKEN_MALFORMED' });
    // The kid alone, unprotected, is fine (RFC 9052 lets it go either way).
    const grant = await verifyToken(
      makeCat(claims, { alg: 5, key: secret, unprotected: new Map([[4, Buffer.from('hs')]]) }),
      { keys },
      options,
    );
    expect(grant.kid).toBe('hs');
  });

  it('gives a CAT without cti one identity however it is re-encoded (session limits, viewers)', async () => {
    const keys = await storeOf();
    const claims = catClaims('live/cam1');
    claims.delete(CLAIM.cti);
    const tagged = makeCat(claims, { alg: 5, kid: 'hs', key: secret });
    const untagged = makeCat(claims, { alg: 5, kid: 'hs', key: secret, cwtTag: false });
    expect(tagged).not.toBe(untagged);
    const [a, b] = await Promise.all(
      [tagged, untagged].map((t) => verifyToken(t, { keys }, options)),
    );
    expect(a.jti).toBeUndefined();
    expect(a.tokenId).toMatch(/^sha256:/);
    expect(b.tokenId).toBe(a.tokenId);
    const other = catClaims('live/cam2');
    other.delete(CLAIM.cti);
    const c = await verifyToken(
      makeCat(other, { alg: 5, kid: 'hs', key: secret }),
      { keys },
      options,
    );
    expect(c.tokenId).not.toBe(a.tokenId);
  });

  it('refuses an iss that names a configured OpenID issuer (its tokens are JWTs, under its own keys)', async () => {
    const keys = await storeOf();
    const issuers = {
      get: (iss: unknown) => (iss === 'https://idp.example' ? {} : undefined),
      size: 1,
    } as never;
    const claims = catClaims('live/cam1', 300, [[CLAIM.iss, 'https://idp.example']]);
    await expect(
      verifyToken(makeCat(claims, { alg: 5, kid: 'hs', key: secret }), { keys, issuers }, options),
    ).rejects.toMatchObject({ code: 'CLAIM_INVALID', claim: 'iss' });
    const own = catClaims('live/cam1', 300, [[CLAIM.iss, 'https://cat-issuer.example']]);
    const grant = await verifyToken(
      makeCat(own, { alg: 5, kid: 'hs', key: secret }),
      { keys, issuers },
      options,
    );
    expect(grant.issuer).toBe('https://cat-issuer.example');
  });

  it('reads text-keyed claims as a JWT carries them: access rules apply; __proto__ is no claim', async () => {
    const keys = await storeOf();
    const access = new Map([['allow', new Map([['ips', ['10.0.0.0/8']]])]]);
    const grant = await verifyToken(
      makeCat(catClaims('live/cam1', 300, [['access', access]]), {
        alg: 5,
        kid: 'hs',
        key: secret,
      }),
      { keys },
      options,
    );
    expect(grant.claims.access).toEqual({ allow: { ips: ['10.0.0.0/8'] } });
    expect(Object.getPrototypeOf(grant.claims.access)).toBe(Object.prototype);
    const hostile: Array<[string, unknown]> = [
      ['__proto__', new Map([['scope', 'admin']])],
      ['access', new Map([['__proto__', new Map([['allow', 1]])]])],
    ];
    for (const extra of hostile) {
      await expect(
        verifyToken(
          makeCat(catClaims('live/cam1', 300, [extra]), { alg: 5, kid: 'hs', key: secret }),
          { keys },
          options,
        ),
      ).rejects.toMatchObject({ code: 'CLAIM_INVALID' });
    }
  });

  it('refuses a CAT restriction this server does not enforce (catnip, catreplay …) rather than admit it more widely', async () => {
    const keys = await storeOf();
    for (const [label, name, value] of [
      [311, 'catnip', [Buffer.from([10, 0, 0, 0])]],
      [308, 'catreplay', 1],
      [316, 'catgeoiso3166', ['US']],
      [313, 'catm', 'GET'],
    ] as const) {
      const claims = catClaims('live/cam1', 300, [[label, value]]);
      await expect(
        verifyToken(makeCat(claims, { alg: 5, kid: 'hs', key: secret }), { keys }, options),
      ).rejects.toMatchObject({ code: 'CLAIM_INVALID', claim: name });
    }
  });

  it('carries catu into the grant (enforced with the access rules) and accepts catr, which restricts nothing', async () => {
    const keys = await storeOf();
    const claims = catClaims('live/cam1', 300, [
      [
        CLAIM.catu,
        new Map<number, Map<number, unknown>>([
          [3, new Map([[1, '/live/cam1/']])],
          [8, new Map([[-1, Buffer.alloc(32, 1)]])],
        ]),
      ],
      [
        323,
        new Map([
          [0, 2],
          [1, 60],
          [2, 10],
        ]),
      ],
    ]);
    const grant = await verifyToken(
      makeCat(claims, { alg: 5, kid: 'hs', key: secret }),
      { keys },
      options,
    );
    expect(grant.claims).toMatchObject({
      catu: { '3': { '1': '/live/cam1/' }, '8': { '-1': '01'.repeat(32) } },
      catr: { '0': 2, '1': 60, '2': 10 },
    });
    // Under a text key, catu would shadow the enforced one.
    const shadow = catClaims('live/cam1', 300, [['catu', { '3': { '1': '/' } }]]);
    await expect(
      verifyToken(makeCat(shadow, { alg: 5, kid: 'hs', key: secret }), { keys }, options),
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

// RFC 8392 Appendix A: the published example CWTs and keys.
const RFC8392 = {
  /** A.2.3: the ECDSA P-256 key (public part). */
  p256: {
    x: '143329cce7868e416927599cf65a34f3ce2ffda55a7eca69ed8919a394d42f0f',
    y: '60f7f1a780d8a783bfb7a2dd6b2796e8128dbbcef9d3d168db9529971a36e7b9',
  },
  /** A.2.2: the 256-bit symmetric key. */
  symmetric256: '403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388',
  /** A.3: signed CWT (COSE_Sign1, ES256, kid "AsymmetricECDSA256"). */
  signed:
    'd28443a10126a104524173796d6d657472696345434453413235365850a70175636f61703a2f2f61732e6578616d706c652e636f6d02656572696b77037818636f61703a2f2f6c696768742e6578616d706c652e636f6d041a5612aeb0051a5610d9f0061a5610d9f007420b7158405427c1ff28d23fbad1f29c4c7c6a555e601d6fa29f9179bc3d7438bacaca5acd08c8d4d4f96131680c429a01f85951ecee743a52b9b63632c57209120e1c9e30',
  /** A.4: MACed CWT with the CWT tag (COSE_Mac0, HMAC 256/64, kid "Symmetric256"). */
  maced:
    'd83dd18443a10104a1044c53796d6d65747269633235365850a70175636f61703a2f2f61732e6578616d706c652e636f6d02656572696b77037818636f61703a2f2f6c696768742e6578616d706c652e636f6d041a5612aeb0051a5610d9f0061a5610d9f007420b7148093101ef6d789200',
  /** Both examples' claims are valid at iat = nbf = 1443944944 until exp = 1444064944. */
  at: 1443944944_000 + 60_000,
};
const b64url = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');

describe('the CWT examples of RFC 8392', () => {
  it('A.3, the signed CWT, verifies under the published P-256 key and maps to the claims it lists', async () => {
    const publicKey = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: b64url(RFC8392.p256.x),
        y: b64url(RFC8392.p256.y),
      },
      format: 'jwk',
    });
    const config = parseConfig({
      auth: {
        keys: [
          {
            kid: 'AsymmetricECDSA256',
            alg: 'ES256',
            publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
            actions: ['play'],
          },
        ],
      },
    });
    const keys = new KeyStore([await importTrustedKey(config.auth.keys[0]!, 'auth.keys[0]')]);
    const token = b64url(RFC8392.signed);
    expect(looksLikeCat(token)).toBe(true);
    const parsed = parseCat(token);
    expect(parsed.alg).toBe('ES256');
    expect(parsed.kid).toBe('AsymmetricECDSA256');
    expect(parsed.payload).toEqual({
      iss: 'coap://as.example.com',
      sub: 'erikw',
      aud: 'coap://light.example.com',
      exp: 1444064944,
      nbf: 1443944944,
      iat: 1443944944,
      jti: Buffer.from('0b71', 'hex').toString('base64url'),
    });
    const grant = await verifyToken(token, { keys }, options, RFC8392.at);
    expect(grant).toMatchObject({ subject: 'erikw', issuer: 'coap://as.example.com' });
    // Past its exp, and with one signature byte changed, it is refused as a JWT would be.
    await expect(
      verifyToken(token, { keys }, options, 1444064944_000 + 1000),
    ).rejects.toMatchObject({
      code: 'TOKEN_EXPIRED',
    });
    const tampered = Buffer.from(RFC8392.signed, 'hex');
    tampered[tampered.length - 1]! ^= 1;
    await expect(
      verifyToken(tampered.toString('base64url'), { keys }, options, RFC8392.at),
    ).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
  });

  it('A.4, the MACed CWT: its 64-bit MAC is the published key over the MAC_structure we build, and alg 4 (a truncated MAC) is refused', () => {
    const bytes = Buffer.from(RFC8392.maced, 'hex');
    // 61(17([h'a10104', {4: 'Symmetric256'}, payload, h'093101ef6d789200'])): the payload's 80 bytes start at byte 25.
    const protectedHeader = bytes.subarray(5, 8);
    const payload = bytes.subarray(25, 25 + 0x50);
    const mac = bytes.subarray(bytes.length - 8);
    const structure = Buffer.concat([
      Buffer.from('84644d414330', 'hex'), // ["MAC0",
      Buffer.from([0x43]),
      protectedHeader,
      Buffer.from([0x40, 0x58, payload.length]),
      payload,
    ]);
    const full = createHmac('sha256', Buffer.from(RFC8392.symmetric256, 'hex'))
      .update(structure)
      .digest();
    expect(full.subarray(0, 8)).toEqual(mac);
    expect(() => parseCat(bytes.toString('base64url'))).toThrow(
      expect.objectContaining({ code: 'ALG_NOT_ALLOWED' }) as Error,
    );
  });
});
