// Common Access Tokens (CTA-5007) as segment passes: the tokens Stagedoor writes verify with
// @eyevinn/cat (a CAT library a CDN function runs) and with the nginx edge's own verifier
// (deploy/nginx-edge/cat.js, run here in Node as nginx runs it in njs): the stream's directory and
// the window pass, other streams, tampered, expired and foreign-key tokens do not, and tokens that
// carry a restriction the edge does not check are refused rather than half-enforced.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { OutgoingMessage } from 'node:http';
import { pathToFileURL } from 'node:url';
import { Encoder, Tag } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { CatPassWriter } from '../../../src/delivery/pass/cdn/cat-pass-token.js';
import { cdnTokenWriter } from '../../../src/delivery/pass/cdn/cdn-token-writer.js';
import { parseConfig } from '../../../src/config/load-config.js';

const edgeDir = new URL('../../../deploy/nginx-edge/', import.meta.url);
const edge = (await import(pathToFileURL(`${edgeDir.pathname}cat.js`).href)) as {
  default: {
    checkCat(value: string, path: string, keys: Record<string, Buffer>, nowMs: number): string;
    catKeys(text: string): Record<string, Buffer>;
  };
};
const { checkCat, catKeys } = edge.default;
const vectors = JSON.parse(readFileSync(new URL('test-vectors.json', edgeDir), 'utf8')) as {
  cat: {
    kid: string;
    key: string;
    vectors: Array<{ dir: string; exp: number; viewer: string; token: string }>;
  };
};

interface EyevinnCat {
  validate(
    token: string,
    type: 'mac',
    opts: { url?: URL },
  ): Promise<{ error?: Error; cat?: { claims: Record<string, unknown> } }>;
  generateFromJson(dict: Record<string, unknown>, opts: object): Promise<string>;
}
const eyevinn = createRequire(import.meta.url)('@eyevinn/cat') as {
  CAT: new (opts: { keys: Record<string, Buffer>; expectCwtTag?: boolean }) => EyevinnCat;
  HttpValidator: new (opts: object) => {
    validateHttpRequest(
      request: { headers: Record<string, string>; url: string; method: string },
      response: OutgoingMessage,
    ): Promise<{ status: number; message?: string }>;
  };
};

const key = randomBytes(32).toString('hex');
const keys = { cat1: Buffer.from(key, 'hex') };
const writer = (options: Partial<ConstructorParameters<typeof CatPassWriter>[0]> = {}) =>
  new CatPassWriter({ kid: 'cat1', key, tokenName: 'CAT', cwtTag: true, ...options });
const now = Date.now();
const window = { dir: '/live/cam1/', expiresAt: now + 8000, viewerId: 'AAAAAAAAAAAAAAAA' };
const SEGMENT = '/live/cam1/copy_s12.m4s';

describe('a CAT segment pass', () => {
  it('is one query parameter, base64url, and shorter than Stagedoor-pass-plus-JWT would be', () => {
    const signed = writer().sign({ ...window, address: '198.51.100.7', segmentPass: 'x' });
    expect(signed).toMatch(/^CAT=[A-Za-z0-9_-]+$/);
    expect(signed.length).toBeLessThan(140);
  });

  it('verifies with @eyevinn/cat for the stream directory, and not for another stream or once expired', async () => {
    const token = writer().token(window);
    const cat = new eyevinn.CAT({ keys, expectCwtTag: true });
    /** What @eyevinn/cat says of `t` for a request to `path`: ok, or its error (thrown or returned). */
    const says = async (t: string, path: string, validator = cat) => {
      try {
        const result = await validator.validate(t, 'mac', {
          url: new URL(`https://cdn.example${path}`),
        });
        return result.error ? result.error.message : 'ok';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(await says(token, `${SEGMENT}?CAT=${token}`)).toBe('ok');
    const claims = (
      await cat.validate(token, 'mac', { url: new URL(`https://cdn.example${SEGMENT}`) })
    ).cat?.claims;
    expect(claims).toMatchObject({ sub: window.viewerId, catv: 1 });
    expect(await says(token, '/live/cam2/copy_s12.m4s')).toMatch(/not allowed/);
    expect(await says(writer().token({ ...window, expiresAt: now - 1000 }), SEGMENT)).toMatch(
      /expired/i,
    );
    const other = new eyevinn.CAT({ keys: { cat1: randomBytes(32) }, expectCwtTag: true });
    expect(await says(token, SEGMENT, other)).not.toBe('ok');
  });

  it('verifies at the nginx edge (cat.js) for the directory and the window only', () => {
    const token = writer().token(window);
    expect(checkCat(token, SEGMENT, keys, now)).toBe('ok');
    expect(checkCat(token, '/live/cam1/copy_init.mp4', keys, now)).toBe('ok');
    expect(checkCat(token, '/live/cam10/copy_s12.m4s', keys, now)).toBe('other-path');
    expect(checkCat(token, '/live/cam2/copy_s12.m4s', keys, now)).toBe('other-path');
    expect(checkCat(token, SEGMENT, keys, window.expiresAt)).toBe('expired');
    expect(checkCat(token, SEGMENT, { cat2: keys.cat1 }, now)).toBe('unknown-key');
    // A kid naming something every object inherits finds no key (not a function to sign with).
    for (const kid of ['constructor', '__proto__', 'toString'])
      expect(checkCat(writer({ kid }).token(window), SEGMENT, catKeys(`cat1:${key}`), now)).toBe(
        'unknown-key',
      );
    expect(checkCat(token, SEGMENT, { cat1: randomBytes(32) }, now)).toBe('forged');
    expect(checkCat('', SEGMENT, keys, now)).toBe('missing');
    expect(checkCat('not a token!', SEGMENT, keys, now)).toBe('malformed');
    // Untagged (cwtTag false) reads the same.
    expect(checkCat(writer({ cwtTag: false }).token(window), SEGMENT, keys, now)).toBe('ok');
  });

  it('refuses every single-byte change at the edge', () => {
    const bytes = Buffer.from(writer().token(window), 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const changed = Buffer.from(bytes);
      changed[i] = changed[i]! ^ 0x01;
      expect(checkCat(changed.toString('base64url'), SEGMENT, keys, now), `byte ${i}`).not.toBe(
        'ok',
      );
    }
  });

  it('is what the published test vectors say (the same tokens the edge test reads)', () => {
    const { kid, key: vectorKey } = vectors.cat;
    const vectorKeys = catKeys(`${kid}:${vectorKey}`);
    for (const v of vectors.cat.vectors) {
      const made = new CatPassWriter({ kid, key: vectorKey, tokenName: 'CAT', cwtTag: true }).token(
        {
          dir: v.dir,
          expiresAt: v.exp * 1000,
          viewerId: v.viewer,
        },
      );
      expect(made).toBe(v.token);
      expect(checkCat(v.token, `${v.dir}x_1.m4s`, vectorKeys, v.exp * 1000 - 1000)).toBe('ok');
      expect(checkCat(v.token, '/other/dir/x_1.m4s', vectorKeys, v.exp * 1000 - 1000)).toBe(
        'other-path',
      );
    }
  });

  it('carries catr when renewal is configured, and a CAT validator that renews renews it', async () => {
    const renewing = writer({
      renewal: { type: 'header', expAddSec: 8, deadlineSec: 5, name: 'CTA-Common-Access-Token' },
    });
    // Near its end (within the deadline): the validator answers with a renewed token.
    const token = renewing.token({ ...window, expiresAt: Date.now() + 3000 });
    expect(checkCat(token, SEGMENT, keys, Date.now())).toBe('ok'); // the edge accepts, does not renew
    const validator = new eyevinn.HttpValidator({
      keys: [{ kid: 'cat1', key: keys.cat1 }],
      tokenUriParam: 'CAT',
      issuer: 'cdn.example', // the renewing CDN signs the renewed token as its issuer
    });
    const response = new OutgoingMessage();
    const result = await validator.validateHttpRequest(
      { headers: { host: 'cdn.example' }, url: `${SEGMENT}?CAT=${token}`, method: 'GET' },
      response,
    );
    expect(result.status, result.message).toBe(200);
    const renewed = String(response.getHeader('CTA-Common-Access-Token'));
    expect(renewed).toMatch(/^[A-Za-z0-9_-]{40,}/);
    expect(renewed).not.toBe(token);
  });

  it('is refused by config when the renewal deadline is not below what a renewal adds', () => {
    const config = parseConfig({
      hls: {
        passes: {
          cdn: {
            format: 'cat',
            kid: 'cat1',
            key,
            renewal: { type: 'header', expAddSec: 4, deadlineSec: 4 },
          },
        },
      },
    });
    expect(() => cdnTokenWriter(config.hls.passes.cdn!)).toThrow(/deadlineSec/);
  });
});

describe('the edge CAT verifier', () => {
  const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, variableMapSize: true });
  const exp = Math.floor(now / 1000) + 60;
  const catu = new Map([[3, new Map([[1, '/live/cam1/']])]]);

  /** A COSE_Mac0 CAT over `claims` (a CBOR payload or its bytes), with `header` as protected header. */
  function make(
    claims: Map<unknown, unknown> | Buffer,
    header: Map<number, unknown> = new Map([[1, 5]]),
    unprotected: Map<number, unknown> = new Map([[4, Buffer.from('cat1')]]),
  ): string {
    const protectedBytes = Buffer.from(encoder.encode(header));
    const payload = Buffer.isBuffer(claims) ? claims : Buffer.from(encoder.encode(claims));
    const mac = createHmac('sha256', keys.cat1)
      .update(encoder.encode(['MAC0', protectedBytes, Buffer.alloc(0), payload]))
      .digest();
    return Buffer.from(
      encoder.encode(new Tag([protectedBytes, unprotected, payload, mac], 17)),
    ).toString('base64url');
  }
  const claims = (extra: Array<[unknown, unknown]> = []) =>
    new Map<unknown, unknown>([[4, exp], [312, catu], ...extra]);

  it('accepts a well-made token, with the kid protected or not', () => {
    expect(checkCat(make(claims()), SEGMENT, keys, now)).toBe('ok');
    const protectedKid = new Map<number, unknown>([
      [1, 5],
      [4, Buffer.from('cat1')],
    ]);
    expect(checkCat(make(claims(), protectedKid, new Map()), SEGMENT, keys, now)).toBe('ok');
  });

  it('refuses other algorithms and an algorithm outside the protected header', () => {
    expect(checkCat(make(claims(), new Map([[1, 4]])), SEGMENT, keys, now)).toBe('malformed'); // HMAC 256/64
    expect(checkCat(make(claims(), new Map([[1, -7]])), SEGMENT, keys, now)).toBe('malformed');
    expect(
      checkCat(
        make(
          claims(),
          new Map(),
          new Map<number, unknown>([
            [1, 5],
            [4, Buffer.from('cat1')],
          ]),
        ),
        SEGMENT,
        keys,
        now,
      ),
    ).toBe('malformed');
    expect(
      checkCat(
        make(
          claims(),
          new Map<number, unknown>([
            [1, 5],
            [2, [4]],
          ]),
        ),
        SEGMENT,
        keys,
        now,
      ),
    ).toBe('malformed');
  });

  it('refuses restrictions it does not check, and lets through the ones that restrict nothing', () => {
    expect(checkCat(make(claims([[3, 'some-cdn']])), SEGMENT, keys, now)).toBe('unsupported-claim'); // aud
    expect(checkCat(make(claims([[311, [Buffer.from([10, 0, 0, 0])]]])), SEGMENT, keys, now)).toBe(
      'unsupported-claim',
    ); // catnip
    expect(checkCat(make(claims([[308, 1]])), SEGMENT, keys, now)).toBe('unsupported-claim'); // catreplay
    expect(checkCat(make(claims([[310, 2]])), SEGMENT, keys, now)).toBe('unsupported-claim'); // catv 2
    expect(checkCat(make(claims([['scope', 'play']])), SEGMENT, keys, now)).toBe(
      'unsupported-claim',
    );
    const hostCatu = new Map([[1, new Map([[0, 'cdn.example']])]]);
    expect(
      checkCat(
        make(
          new Map<unknown, unknown>([
            [4, exp],
            [312, hostCatu],
          ]),
        ),
        SEGMENT,
        keys,
        now,
      ),
    ).toBe('unsupported-claim');
    const regexCatu = new Map([[3, new Map([[4, ['^/live/']]])]]);
    expect(
      checkCat(
        make(
          new Map<unknown, unknown>([
            [4, exp],
            [312, regexCatu],
          ]),
        ),
        SEGMENT,
        keys,
        now,
      ),
    ).toBe('unsupported-claim');
    expect(
      checkCat(
        make(
          claims([
            [1, 'issuer'],
            [2, 'viewer'],
            [6, exp - 60],
            [7, Buffer.from('id')],
            [310, 1],
          ]),
        ),
        SEGMENT,
        keys,
        now,
      ),
    ).toBe('ok');
  });

  it('matches catu by path, filename, stem and extension as CTA-5007 names them', () => {
    const only = (component: number, kind: number, value: string) =>
      make(
        new Map<unknown, unknown>([
          [4, exp],
          [312, new Map([[component, new Map([[kind, value]])]])],
        ]),
      );
    expect(checkCat(only(3, 0, SEGMENT), SEGMENT, keys, now)).toBe('ok');
    expect(checkCat(only(3, 0, SEGMENT), `${SEGMENT}x`, keys, now)).toBe('other-path');
    expect(checkCat(only(3, 2, '.m4s'), SEGMENT, keys, now)).toBe('ok');
    expect(checkCat(only(3, 2, '.m4s'), '/live/cam1/copy.m3u8', keys, now)).toBe('other-path');
    expect(checkCat(only(3, 3, '/cam1/'), SEGMENT, keys, now)).toBe('ok');
    expect(checkCat(only(5, 0, '/live/cam1'), SEGMENT, keys, now)).toBe('ok');
    expect(checkCat(only(5, 0, '/live/cam1'), '/live/cam1/sub/x.m4s', keys, now)).toBe(
      'other-path',
    );
    expect(checkCat(only(6, 0, 'copy_s12.m4s'), SEGMENT, keys, now)).toBe('ok');
    expect(checkCat(only(7, 0, 'copy_s12'), SEGMENT, keys, now)).toBe('ok');
    expect(checkCat(only(8, 0, '.m4s'), SEGMENT, keys, now)).toBe('ok');
    expect(checkCat(only(8, 0, '.ts'), SEGMENT, keys, now)).toBe('other-path');
  });

  it('refuses CBOR it does not expect: trailing bytes, floats, indefinite lengths, duplicate keys, no exp or catu', () => {
    const ok = Buffer.from(encoder.encode(claims()));
    expect(checkCat(make(Buffer.concat([ok, Buffer.from([0])])), SEGMENT, keys, now)).toBe(
      'malformed',
    );
    expect(
      checkCat(
        make(
          new Map<unknown, unknown>([
            [4, exp + 0.5],
            [312, catu],
          ]),
        ),
        SEGMENT,
        keys,
        now,
      ),
    ).toBe('malformed');
    // An indefinite-length map (0xbf … 0xff) of the same claims.
    const indefinite = Buffer.concat([Buffer.from([0xbf]), ok.subarray(1), Buffer.from([0xff])]);
    expect(checkCat(make(indefinite), SEGMENT, keys, now)).toBe('malformed');
    // Two exp claims: the map head says 3 pairs, the second exp far in the future.
    const twice = Buffer.concat([
      Buffer.from([0xa3]),
      Buffer.from(encoder.encode(4)),
      Buffer.from(encoder.encode(exp - 3600)),
      ok.subarray(1),
    ]);
    expect(checkCat(make(twice), SEGMENT, keys, now)).toBe('malformed');
    expect(checkCat(make(new Map<unknown, unknown>([[312, catu]])), SEGMENT, keys, now)).toBe(
      'malformed',
    );
    expect(checkCat(make(new Map<unknown, unknown>([[4, exp]])), SEGMENT, keys, now)).toBe(
      'malformed',
    );
    expect(checkCat(make(claims([[5, exp - 30]])), SEGMENT, keys, now)).toBe('not-yet');
  });

  it('reads a CAT @eyevinn/cat generated (with the CWT tag) for the same directory', async () => {
    const generated = await new eyevinn.CAT({ keys, expectCwtTag: true }).generateFromJson(
      { exp, catv: 1, catu: { path: { 'prefix-match': '/live/cam1/' } } },
      { type: 'mac', alg: 'HS256', kid: 'cat1', generateCwtId: false },
    );
    expect(checkCat(generated, SEGMENT, keys, now)).toBe('ok');
    expect(checkCat(generated, '/live/cam2/copy_s12.m4s', keys, now)).toBe('other-path');
  });
});
