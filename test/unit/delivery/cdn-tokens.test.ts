// Each CDN token writer against the vendor's own signer where there is one (akamai-edgeauth,
// @aws-sdk/cloudfront-signer) and against a verifier written from the vendor's documentation
// (test/helpers/cdn-verifiers.ts): ours verifies; tampered, expired, other-path and other-stream
// URLs do not.
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AkamaiTokenWriter } from '../../../src/delivery/pass/cdn/akamai-token.js';
import { CloudFrontTokenWriter } from '../../../src/delivery/pass/cdn/cloudfront-token.js';
import { GoogleTokenWriter, signGoogle } from '../../../src/delivery/pass/cdn/google-token.js';
import { BunnyTokenWriter, signBunny } from '../../../src/delivery/pass/cdn/bunny-token.js';
import { cdnTokenWriter } from '../../../src/delivery/pass/cdn/cdn-token-writer.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { buildPasses } from '../../../src/compose/passes.js';
import { capturedLogger } from '../../helpers/log.js';
import { cdnSetCookie } from '../../../src/delivery/pass/cdn/cdn-cookie.js';
import type { CdnTokenRequest, CdnTokenWriter } from '../../../src/delivery/pass/cdn/cdn-token.js';
import {
  verifyAkamai,
  verifyBunny,
  verifyCloudFront,
  verifyCloudFrontCookies,
  verifyGoogle,
  verifyGoogleCookie,
} from '../../helpers/cdn-verifiers.js';

const EdgeAuth = createRequire(import.meta.url)('akamai-edgeauth') as new (options: object) => {
  generateACLToken(acl: string): string;
};

const now = Date.UTC(2026, 11, 4, 12, 0, 0);
const window = {
  dir: '/live/cam1/',
  expiresAt: now + 8000,
  viewerId: 'v-1',
  address: '198.51.100.7',
  segmentPass: 'ek1.123.v-1.mac',
};
/** A segment URI as a player asks for it: our pass, then the CDN's token. */
const uri = (base: string, token: string, path = '/live/cam1/seg12.m4s') =>
  new URL(`${base}${path}?vs=${window.segmentPass}&${token}`);

/** The Set-Cookie values a playlist response carries at `at` for a writer in cookie mode. */
const setCookies = (writer: CdnTokenWriter, request: CdnTokenRequest, at: number) =>
  (writer.cookies?.(request) ?? []).map((c) => cdnSetCookie(c, (request.expiresAt - at) / 1000));

describe('Akamai Auth Token 2.0', () => {
  const key = randomBytes(32).toString('hex');
  const writer = new AkamaiTokenWriter({
    key,
    tokenName: 'hdnts',
    algorithm: 'sha256',
    bindAddress: false,
  });

  it('writes exactly the token akamai-edgeauth makes for the same inputs', () => {
    const ours = writer.sign(window);
    const theirs = new EdgeAuth({
      key,
      tokenName: 'hdnts',
      endTime: Math.floor(window.expiresAt / 1000),
      sessionId: 'v-1',
    }).generateACLToken('/live/cam1/*');
    expect(ours).toBe(`hdnts=${theirs}`);
    const bound = new AkamaiTokenWriter({
      key,
      tokenName: 'hdnts',
      algorithm: 'sha256',
      bindAddress: true,
    }).sign(window);
    const theirsBound = new EdgeAuth({
      key,
      tokenName: 'hdnts',
      endTime: Math.floor(window.expiresAt / 1000),
      sessionId: 'v-1',
      ip: '198.51.100.7',
    }).generateACLToken('/live/cam1/*');
    expect(bound).toBe(`hdnts=${theirsBound}`);
  });

  it('verifies for the stream’s segments and parts until the window ends, and for nothing else', () => {
    const token = writer.sign(window);
    const base = 'https://cdn.example.com';
    expect(verifyAkamai(uri(base, token), key, now)).toBe('ok');
    expect(verifyAkamai(uri(base, token, '/live/cam1/part12.3.m4s'), key, now)).toBe('ok');
    expect(verifyAkamai(uri(base, token, '/live/cam2/seg12.m4s'), key, now)).toBe('other-path');
    expect(verifyAkamai(uri(base, token, '/live/cam10/seg12.m4s'), key, now)).toBe('other-path');
    expect(verifyAkamai(uri(base, token), key, window.expiresAt + 1000)).toBe('expired');
    const tampered = token.replace(/exp=\d+/, `exp=${Math.floor(now / 1000) + 86_400}`);
    expect(verifyAkamai(uri(base, tampered), key, now)).toBe('bad-signature');
    expect(verifyAkamai(uri(base, token), randomBytes(32).toString('hex'), now)).toBe(
      'bad-signature',
    );
  });
});

describe('Amazon CloudFront signed URLs (custom policy)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const base = 'https://d111111abcdef8.cloudfront.net';
  const writer = new CloudFrontTokenWriter({
    keyPairId: 'K2JCJMDEHXQW5F',
    privateKey: pem,
    baseUrl: `${base}/`,
    algorithm: 'SHA1',
    bindAddress: false,
  });
  const keys = { K2JCJMDEHXQW5F: publicKey };

  it('writes a wildcard policy over the stream’s directory that CloudFront’s check accepts, and refuses the rest', () => {
    const token = writer.sign(window);
    expect(Object.fromEntries(new URLSearchParams(token).entries())).toEqual({
      Policy: expect.any(String),
      Signature: expect.any(String),
      'Key-Pair-Id': 'K2JCJMDEHXQW5F',
    });
    expect(JSON.parse(writer.policy(window))).toEqual({
      Statement: [
        {
          Resource: `${base}/live/cam1/*`,
          Condition: { DateLessThan: { 'AWS:EpochTime': Math.floor(window.expiresAt / 1000) } },
        },
      ],
    });
    expect(verifyCloudFront(uri(base, token), keys, now)).toBe('ok');
    expect(verifyCloudFront(uri(base, token, '/live/cam1/init.mp4'), keys, now)).toBe('ok');
    expect(verifyCloudFront(uri(base, token, '/live/cam2/seg12.m4s'), keys, now)).toBe(
      'other-path',
    );
    expect(verifyCloudFront(uri(base, token), keys, window.expiresAt + 1000)).toBe('expired');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(verifyCloudFront(uri(base, token), { K2JCJMDEHXQW5F: other }, now)).toBe(
      'bad-signature',
    );
    // A policy changed by the viewer (a longer window, another resource) no longer verifies.
    const forged = new CloudFrontTokenWriter({
      keyPairId: 'K2JCJMDEHXQW5F',
      privateKey: pem,
      baseUrl: base,
      algorithm: 'SHA1',
      bindAddress: false,
    }).sign({ ...window, expiresAt: now + 86_400_000 });
    const mixed = new URLSearchParams(token);
    mixed.set('Policy', new URLSearchParams(forged).get('Policy')!);
    expect(verifyCloudFront(uri(base, mixed.toString()), keys, now)).toBe('bad-signature');
  });

  it('signs SHA-256 and ECDSA keys too, and refuses a key that is no private key at start', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecWriter = cdnTokenWriter({
      format: 'cloudfront',
      keyPairId: 'KEC256',
      privateKey: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      baseUrl: base,
      algorithm: 'SHA256',
      bindAddress: false,
      delivery: 'url',
    });
    const token = ecWriter.sign(window);
    expect(token).toContain('Hash-Algorithm=SHA256');
    expect(verifyCloudFront(uri(base, token), { KEC256: ec.publicKey }, now)).toBe('ok');
    const spki = createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
    expect(() =>
      cdnTokenWriter({
        format: 'cloudfront',
        keyPairId: 'KEC256',
        privateKey: spki,
        baseUrl: base,
        algorithm: 'SHA1',
        bindAddress: false,
        delivery: 'url',
      }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('Amazon CloudFront signed cookies (custom policy)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const base = 'https://d111111abcdef8.cloudfront.net';
  const keys = { K2JCJMDEHXQW5F: publicKey };
  const writer = new CloudFrontTokenWriter({
    keyPairId: 'K2JCJMDEHXQW5F',
    privateKey: pem,
    baseUrl: base,
    algorithm: 'SHA1',
    bindAddress: false,
    delivery: 'cookie',
  });
  /** The Cookie header a browser sends back from these Set-Cookie values. */
  const jar = (setCookies: readonly string[]) =>
    setCookies.map((c) => c.slice(0, c.indexOf(';'))).join('; ');
  const plain = (path = '/live/cam1/seg12.m4s') =>
    new URL(`${base}${path}?vs=${window.segmentPass}`);

  it('puts nothing on the URIs and sets the three cookies, scoped to the stream and the window', () => {
    expect(writer.sign(window)).toBe('');
    const set = setCookies(writer, window, now);
    expect(set.map((c) => c.slice(0, c.indexOf('=')))).toEqual([
      'CloudFront-Key-Pair-Id',
      'CloudFront-Signature',
      'CloudFront-Policy',
    ]);
    for (const cookie of set) {
      expect(cookie).toMatch(/; Path=\/live\/cam1\/; Max-Age=8; HttpOnly; Secure; SameSite=None$/);
    }
    // Reused for the window: one RSA signature per stream per window end.
    expect(setCookies(writer, window, now + 1000)[1]).toBe(
      set[1]!.replace('Max-Age=8', 'Max-Age=7'),
    );
    const scoped = setCookies(
      new CloudFrontTokenWriter({
        keyPairId: 'K2JCJMDEHXQW5F',
        privateKey: pem,
        baseUrl: 'http://media.example.com',
        algorithm: 'SHA1',
        bindAddress: false,
        delivery: 'cookie',
        cookieDomain: '.example.com',
      }),
      window,
      now,
    );
    expect(scoped[0]).toMatch(/; Domain=\.example\.com; HttpOnly; SameSite=Lax$/);
    // A writer in URL mode sets no cookies.
    expect(
      new CloudFrontTokenWriter({
        keyPairId: 'K2JCJMDEHXQW5F',
        privateKey: pem,
        baseUrl: base,
        algorithm: 'SHA1',
        bindAddress: false,
      }).cookies(window),
    ).toEqual([]);
  });

  it('verifies as CloudFront checks signed cookies, and refuses tampered, expired and other-stream requests', () => {
    const cookie = jar(setCookies(writer, window, now));
    expect(verifyCloudFrontCookies(plain(), cookie, keys, now)).toBe('ok');
    expect(verifyCloudFrontCookies(plain('/live/cam1/part12.3.m4s'), cookie, keys, now)).toBe('ok');
    expect(verifyCloudFrontCookies(plain('/live/cam2/seg12.m4s'), cookie, keys, now)).toBe(
      'other-path',
    );
    expect(verifyCloudFrontCookies(plain(), cookie, keys, window.expiresAt + 1000)).toBe('expired');
    expect(verifyCloudFrontCookies(plain(), undefined, keys, now)).toBe('missing');
    const longer = jar(setCookies(writer, { ...window, expiresAt: now + 86_400_000 }, now));
    const policyOf = (c: string) => /CloudFront-Policy=([^;]+)/.exec(c)![1]!;
    const forged = cookie.replace(policyOf(cookie), policyOf(longer));
    expect(verifyCloudFrontCookies(plain(), forged, keys, now)).toBe('bad-signature');
  });
});

describe('Google Cloud CDN signed URL prefix', () => {
  it('matches the published test vector (GoogleCloudPlatform/python-docs-samples, cdn/snippets_test.py)', () => {
    const vector = new GoogleTokenWriter({
      keyName: 'my-key',
      key: 'nZtRohdNF9m3cKM24IcK4w==',
      baseUrl: 'http://www.example.com',
    }).sign({ ...window, dir: '/some/', expiresAt: 1549751401_000 });
    expect(vector).toBe(
      'URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS9zb21lLw==&Expires=1549751401&KeyName=my-key&Signature=3th4ThmpS95I1TAKYyYSCSq3dnQ=',
    );
  });

  const key = randomBytes(16).toString('base64url');
  const base = 'https://media.example.com';
  const writer = new GoogleTokenWriter({ keyName: 'live-key', key, baseUrl: base });

  it('signs the stream’s directory as the URL prefix, verified as Cloud CDN does, and nothing else', () => {
    const token = writer.sign(window);
    const params = new URLSearchParams(token);
    expect([...params.keys()]).toEqual(['URLPrefix', 'Expires', 'KeyName', 'Signature']);
    expect(Buffer.from(params.get('URLPrefix')!, 'base64url').toString()).toBe(
      `${base}/live/cam1/`,
    );
    const keys = { 'live-key': key };
    expect(verifyGoogle(uri(base, token), keys, now)).toBe('ok');
    expect(verifyGoogle(uri(base, token, '/live/cam2/seg12.m4s'), keys, now)).toBe('other-path');
    expect(verifyGoogle(uri(base, token), keys, window.expiresAt + 1000)).toBe('expired');
    const tampered = token.replace(/Expires=\d+/, 'Expires=9999999999');
    expect(verifyGoogle(uri(base, tampered), keys, now)).toBe('bad-signature');
    expect(
      verifyGoogle(uri(base, token), { 'live-key': randomBytes(16).toString('base64url') }, now),
    ).toBe('bad-signature');
  });
});

describe('Google Cloud CDN signed cookie', () => {
  it('matches the published cookie vectors (GoogleCloudPlatform/python-docs-samples, cdn/snippets_test.py)', () => {
    const key = Buffer.from('nZtRohdNF9m3cKM24IcK4w==', 'base64url');
    expect(signGoogle('http://35.186.234.33/index.html', 'my-key', key, 1549751401, ':')).toBe(
      'URLPrefix=aHR0cDovLzM1LjE4Ni4yMzQuMzMvaW5kZXguaHRtbA==:Expires=1549751401:KeyName=my-key:Signature=uImwlOBCPs91mlCyG9vyyZRrNWU=',
    );
    expect(signGoogle('http://www.example.com/foo/', 'my-key', key, 1549751401, ':')).toBe(
      'URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS9mb28v:Expires=1549751401:KeyName=my-key:Signature=Z9uYAu73YHioRScZDxnP-TnS274=',
    );
  });

  const key = randomBytes(16).toString('base64url');
  const base = 'https://media.example.com';
  const writer = new GoogleTokenWriter({
    keyName: 'live-key',
    key,
    baseUrl: base,
    delivery: 'cookie',
  });
  const keys = { 'live-key': key };
  const plain = (path = '/live/cam1/seg12.m4s') => new URL(`${base}${path}?vs=x`);

  it('sets Cloud-CDN-Cookie over the stream’s directory for the window; Cloud CDN’s check accepts it and nothing else', () => {
    expect(writer.sign(window)).toBe('');
    const [set, ...rest] = setCookies(writer, window, now);
    expect(rest).toEqual([]);
    expect(set).toMatch(
      /^Cloud-CDN-Cookie=URLPrefix=[\w=-]+:Expires=\d+:KeyName=live-key:Signature=[\w=-]+; Path=\/live\/cam1\/; Max-Age=8; HttpOnly; Secure; SameSite=None$/,
    );
    const cookie = set!.slice(0, set!.indexOf(';'));
    expect(verifyGoogleCookie(plain(), cookie, keys, now)).toBe('ok');
    expect(verifyGoogleCookie(plain('/live/cam2/seg12.m4s'), cookie, keys, now)).toBe('other-path');
    expect(verifyGoogleCookie(plain(), cookie, keys, window.expiresAt + 1000)).toBe('expired');
    expect(verifyGoogleCookie(plain(), undefined, keys, now)).toBe('missing');
    const tampered = cookie.replace(/Expires=\d+/, 'Expires=9999999999');
    expect(verifyGoogleCookie(plain(), tampered, keys, now)).toBe('bad-signature');
  });
});

describe('Bunny CDN token authentication (advanced, token_path)', () => {
  it('reproduces BunnyWay’s published HS256 vectors (BunnyCDN.TokenAuthentication e2e/vectors.json)', () => {
    // e2e/inputs.json: key "SecurityKey", expires 1598024587; each case's path, the parameters its
    // signed URL carries (token_path when the scope is given), and the address it is bound to.
    const v6 = '2001:0db8:85a3:0000:0000:8a2e:0370:7334';
    const cases: [string, string, [string, string][], string, string][] = [
      ['plain', '/300kb.jpg', [], '', 'HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4'],
      [
        'countries_only',
        '/300kb.jpg',
        [['token_countries', 'CA,US']],
        '',
        'HS256-i5s3Uv7mnrFfN5nznwU2BxhILpnipYeE18TapV0WNFM',
      ],
      [
        'blocked_only',
        '/300kb.jpg',
        [['token_countries_blocked', 'RU,CN']],
        '',
        'HS256-JS8dSuBSjSH-W2-xhdkCPC36-2rlxfDCQJjlNMPqKZQ',
      ],
      [
        'path_only',
        '/abc',
        [['token_path', '/abc']],
        '',
        'HS256-uVZvT3SbEoVKYJyDJgbcsDmSFf73cv-uNUVaJiKWpbQ',
      ],
      [
        'ignore_params',
        '/300kb.jpg',
        [['token_ignore_params', 'true']],
        '',
        'HS256-1lwWBD_c1IAGSj1UKPoxreu8ePDQ-Z9FoWLcRn_RRH0',
      ],
      [
        'limit_only',
        '/300kb.jpg',
        [['limit', '1000']],
        '',
        'HS256-DAVapqNNED3Z7JkjRTYX0UOIHNtbHEuuhRNEc4A7mMQ',
      ],
      [
        'ip_v4_only',
        '/300kb.jpg',
        [],
        '1.2.3.4',
        'HS256-1-L2rISTLcujMY9UFf2tbZ41d5i-Bme1g1oTK_Z2QMLJk',
      ],
      ['ip_v6_only', '/300kb.jpg', [], v6, 'HS256-1-Z1BaGdhTZdU4iANcyKpurFR2VgCNdqC6hlBv5x_TyaI'],
      [
        'ip_v4_countries',
        '/abc/',
        [['token_countries', 'CA,US']],
        '1.2.3.4',
        'HS256-1-4lIDGI2_t3wiTmopXzB7z71wtZKTe1Ic0lDlL72iAJw',
      ],
      [
        'ip_v6_countries',
        '/abc/',
        [['token_countries', 'CA,US']],
        v6,
        'HS256-1-LGpoP8i1bV4P1kN4NrO_iYxLJuLAD2R3Clstsy9kWAc',
      ],
      [
        'ip_v4_limit',
        '/abc/',
        [['limit', '5000']],
        '1.2.3.4',
        'HS256-1-X01Z6A9xAo1_ds1XFf9y8gAIzk_JpmoevOx7EtgMQhY',
      ],
      [
        'ip_v4_path',
        '/abc',
        [['token_path', '/abc']],
        '1.2.3.4',
        'HS256-1-wag9tC0r1QWfg-2eMj5QcdzgPLCIdQb-D0WVU1Mhg2w',
      ],
      [
        'ip_v4_ignore',
        '/300kb.jpg',
        [['token_ignore_params', 'true']],
        '1.2.3.4',
        'HS256-1-rWalmQRJ-A_qrb08-JoeU3b-gOS5mJiJjPOfDWa0gsQ',
      ],
      [
        'ip_v4_blocked',
        '/300kb.jpg',
        [['token_countries_blocked', 'RU,CN']],
        '1.2.3.4',
        'HS256-1-myF6Rnz7Z9VAfAjjkyUHJQ_6gr-AJ7VyPsG5rQdQKm8',
      ],
      [
        'ip_v6_blocked',
        '/300kb.jpg',
        [['token_countries_blocked', 'RU,CN']],
        v6,
        'HS256-1-XGkCf_JKNfOrpWAM_CIYjZBbVHbB4U1mxHg8pXJtBNc',
      ],
    ];
    for (const [name, path, params, address, token] of cases) {
      expect(
        signBunny('SecurityKey', 'HS256', { path, expires: 1598024587, params, address }),
        name,
      ).toBe(token);
    }
    // The same address spelled otherwise (compressed, IPv4-mapped, another host in the /64) signs alike.
    const sign = (address: string) =>
      signBunny('SecurityKey', 'HS256', {
        path: '/300kb.jpg',
        expires: 1598024587,
        params: [],
        address,
      });
    expect(sign('2001:db8:85a3::8a2e:370:7334')).toBe(cases[7]![4]);
    expect(sign('2001:db8:85a3:0:1:2:3:4')).toBe(cases[7]![4]);
    expect(sign('::ffff:1.2.3.4')).toBe(cases[6]![4]);
  });

  const key = '229248f0-f007-4bf9-ba1f-bbf1b4ad9d40';
  const base = 'https://zone.b-cdn.net';

  it.each(['HS256', 'SHA256'] as const)(
    'signs the stream’s directory and the URL’s other parameters (%s), verified as Bunny does, and nothing else',
    (algorithm) => {
      const token = new BunnyTokenWriter({ key, algorithm, bindAddress: false }).sign(window);
      expect([...new URLSearchParams(token).keys()]).toEqual(['token', 'token_path', 'expires']);
      expect(new URLSearchParams(token).get('token')!.startsWith('HS256-')).toBe(
        algorithm === 'HS256',
      );
      expect(verifyBunny(uri(base, token), key, now)).toBe('ok');
      expect(verifyBunny(uri(base, token, '/live/cam1/part3.1.m4s'), key, now)).toBe('ok');
      expect(verifyBunny(uri(base, token, '/live/cam2/seg12.m4s'), key, now)).toBe('other-path');
      expect(verifyBunny(uri(base, token), key, window.expiresAt + 1000)).toBe('expired');
      // Another viewer's pass beside this token, a moved path or a longer life: refused.
      const otherPass = new URL(uri(base, token));
      otherPass.searchParams.set('vs', 'ek1.123.v-2.mac');
      expect(verifyBunny(otherPass, key, now)).toBe('bad-signature');
      const widened = token.replace(/token_path=[^&]+/, 'token_path=%2Flive%2F');
      expect(verifyBunny(uri(base, widened, '/live/cam2/seg1.m4s'), key, now)).toBe(
        'bad-signature',
      );
      expect(
        verifyBunny(uri(base, token.replace(/expires=\d+/, 'expires=9999999999')), key, now),
      ).toBe('bad-signature');
    },
  );

  it('binds an HS256 token to the viewer’s address, and refuses binding the older form at start', () => {
    const token = new BunnyTokenWriter({ key, algorithm: 'HS256', bindAddress: true }).sign(window);
    expect(new URLSearchParams(token).get('token')!.startsWith('HS256-1-')).toBe(true);
    expect(verifyBunny(uri(base, token), key, now, '198.51.100.7')).toBe('ok');
    expect(verifyBunny(uri(base, token), key, now, '198.51.100.8')).toBe('bad-signature');
    expect(verifyBunny(uri(base, token), key, now)).toBe('bad-signature');
    expect(() =>
      cdnTokenWriter({ format: 'bunny', key, algorithm: 'SHA256', bindAddress: true }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('hls.passes.cdn refuses at start what would widen or break the token', () => {
  const pemKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  const cdn = (value: object) => () => {
    const config = parseConfig({ hls: { passes: { cdn: value } } });
    return cdnTokenWriter(config.hls.passes.cdn!);
  };
  const cloudfront = (extra: object) =>
    cdn({ format: 'cloudfront', keyPairId: 'K2JCJMDEHXQW5F', privateKey: pemKey, ...extra });
  const google = (extra: object) =>
    cdn({ format: 'google', keyName: 'live-key', key: 'nZtRohdNF9m3cKM24IcK4w==', ...extra });

  it.each([
    'https://d1.cloudfront.net/*',
    'https://d1*.cloudfront.net',
    'https://d1.cloudfront.net/media',
    'https://d1.cloudfront.net?x=1',
    'https://d1.cloudfront.net#f',
    'https://user@d1.cloudfront.net',
    'HTTPS://D1.cloudfront.net',
    'ftp://d1.cloudfront.net',
  ])('a baseUrl that is not an origin only: %s', (baseUrl) => {
    expect(cloudfront({ baseUrl })).toThrow(/hls\.passes\.cdn\.baseUrl.*an origin only/);
    expect(google({ baseUrl })).toThrow(/hls\.passes\.cdn\.baseUrl/);
  });

  it('accepts an origin, with a port or a trailing slash, and signs for exactly it', () => {
    expect(cloudfront({ baseUrl: 'https://media.example.com:8443/' })).not.toThrow();
    const writer = cloudfront({ baseUrl: 'https://media.example.com/' })() as CloudFrontTokenWriter;
    expect(JSON.parse(writer.policy(window)).Statement[0].Resource).toBe(
      'https://media.example.com/live/cam1/*',
    );
  });

  it.each(['vs', 'token', 'JWT', 'key', '_HLS_msn', '_hls_part'])(
    'a tokenName Stagedoor reads itself: %s',
    (tokenName) => {
      expect(cdn({ format: 'akamai', key: '52a152a152a152a152a152a152a152a1', tokenName })).toThrow(
        /tokenName.*not a name Stagedoor reads itself/,
      );
      expect(cdn({ format: 'cat', kid: 'cat1', key: '00'.repeat(32), tokenName })).toThrow(
        /tokenName/,
      );
    },
  );

  it('a cookie Domain without cookie delivery, or one that does not cover the media host', () => {
    expect(
      cloudfront({ baseUrl: 'https://media.example.com', cookieDomain: '.example.com' }),
    ).toThrow(/cookieDomain.*delivery "cookie"/);
    expect(
      google({
        baseUrl: 'https://media.example.com',
        delivery: 'cookie',
        cookieDomain: '.example.org',
      }),
    ).toThrow(/\.example\.org does not cover media\.example\.com/);
    expect(
      google({
        baseUrl: 'https://media.example.com',
        delivery: 'cookie',
        cookieDomain: '.notexample.com',
      }),
    ).toThrow(/does not cover/);
    expect(
      cloudfront({
        baseUrl: 'https://d1.cloudfront.net',
        delivery: 'cookie',
        cookieDomain: '.cloudfront.net',
      }),
    ).toThrow(/public suffix/);
    for (const cookieDomain of ['.example.com', 'example.com', 'media.example.com'])
      expect(
        cloudfront({ baseUrl: 'https://media.example.com', delivery: 'cookie', cookieDomain }),
      ).not.toThrow();
  });
});

describe('bindAddress behind a CDN', () => {
  const start = async (http: object) => {
    const { log, out } = capturedLogger();
    const stateDir = mkdtempSync(join(tmpdir(), 'stagedoor-cdn-bind-'));
    const config = parseConfig({
      stateDir,
      http,
      hls: {
        passes: {
          cdn: { format: 'akamai', key: '52a152a152a152a152a152a152a152a1', bindAddress: true },
        },
      },
    });
    await buildPasses(config, log);
    rmSync(stateDir, { recursive: true, force: true });
    return out();
  };

  it('warns at start when the origin trusts no proxy, so every bound token would name the CDN', async () => {
    expect(await start({})).toContain('"event":"cdn_bind_without_proxies"');
    expect(await start({ trustedProxies: ['10.0.0.0/8'] })).not.toContain(
      'cdn_bind_without_proxies',
    );
  });
});
