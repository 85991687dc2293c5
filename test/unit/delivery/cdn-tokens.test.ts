// Each CDN token writer against the vendor's own signer where there is one (akamai-edgeauth,
// @aws-sdk/cloudfront-signer) and against a verifier written from the vendor's documentation
// (test/helpers/cdn-verifiers.ts): ours verifies; tampered, expired, other-path and other-stream
// URLs do not.
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { AkamaiTokenWriter } from '../../../src/delivery/pass/cdn/akamai-token.js';
import { CloudFrontTokenWriter } from '../../../src/delivery/pass/cdn/cloudfront-token.js';
import { GoogleTokenWriter, signGoogle } from '../../../src/delivery/pass/cdn/google-token.js';
import { BunnyTokenWriter } from '../../../src/delivery/pass/cdn/bunny-token.js';
import { cdnTokenWriter } from '../../../src/delivery/pass/cdn/cdn-token-writer.js';
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
    const set = writer.cookies(window, now);
    expect(set.map((c) => c.slice(0, c.indexOf('=')))).toEqual([
      'CloudFront-Key-Pair-Id',
      'CloudFront-Signature',
      'CloudFront-Policy',
    ]);
    for (const cookie of set) {
      expect(cookie).toMatch(/; Path=\/live\/cam1\/; Max-Age=8; HttpOnly; Secure; SameSite=None$/);
    }
    // Reused for the window: one RSA signature per stream per window end.
    expect(writer.cookies(window, now + 1000)[1]).toBe(set[1]!.replace('Max-Age=8', 'Max-Age=7'));
    const scoped = new CloudFrontTokenWriter({
      keyPairId: 'K2JCJMDEHXQW5F',
      privateKey: pem,
      baseUrl: 'http://media.example.com',
      algorithm: 'SHA1',
      bindAddress: false,
      delivery: 'cookie',
      cookieDomain: '.example.com',
    }).cookies(window, now);
    expect(scoped[0]).toMatch(/; Domain=\.example\.com; HttpOnly; SameSite=Lax$/);
    // A writer in URL mode sets no cookies.
    expect(
      new CloudFrontTokenWriter({
        keyPairId: 'K2JCJMDEHXQW5F',
        privateKey: pem,
        baseUrl: base,
        algorithm: 'SHA1',
        bindAddress: false,
      }).cookies(window, now),
    ).toEqual([]);
  });

  it('verifies as CloudFront checks signed cookies, and refuses tampered, expired and other-stream requests', () => {
    const cookie = jar(writer.cookies(window, now));
    expect(verifyCloudFrontCookies(plain(), cookie, keys, now)).toBe('ok');
    expect(verifyCloudFrontCookies(plain('/live/cam1/part12.3.m4s'), cookie, keys, now)).toBe('ok');
    expect(verifyCloudFrontCookies(plain('/live/cam2/seg12.m4s'), cookie, keys, now)).toBe(
      'other-path',
    );
    expect(verifyCloudFrontCookies(plain(), cookie, keys, window.expiresAt + 1000)).toBe('expired');
    expect(verifyCloudFrontCookies(plain(), undefined, keys, now)).toBe('missing');
    const longer = jar(writer.cookies({ ...window, expiresAt: now + 86_400_000 }, now));
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
    const [set, ...rest] = writer.cookies(window, now);
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

describe('Bunny CDN token authentication (SHA-256, token_path)', () => {
  const key = '229248f0-f007-4bf9-ba1f-bbf1b4ad9d40';
  const base = 'https://zone.b-cdn.net';
  const writer = new BunnyTokenWriter({ key });

  it('signs the stream’s directory and the URL’s other parameters, verified as Bunny does, and nothing else', () => {
    const token = writer.sign(window);
    expect([...new URLSearchParams(token).keys()]).toEqual(['token', 'token_path', 'expires']);
    expect(verifyBunny(uri(base, token), key, now)).toBe('ok');
    expect(verifyBunny(uri(base, token, '/live/cam1/part3.1.m4s'), key, now)).toBe('ok');
    expect(verifyBunny(uri(base, token, '/live/cam2/seg12.m4s'), key, now)).toBe('other-path');
    expect(verifyBunny(uri(base, token), key, window.expiresAt + 1000)).toBe('expired');
    // Another viewer's pass beside this token, a moved path or a longer life: refused.
    const otherPass = new URL(uri(base, token));
    otherPass.searchParams.set('vs', 'ek1.123.v-2.mac');
    expect(verifyBunny(otherPass, key, now)).toBe('bad-signature');
    const widened = token.replace(/token_path=[^&]+/, 'token_path=%2Flive%2F');
    expect(verifyBunny(uri(base, widened, '/live/cam2/seg1.m4s'), key, now)).toBe('bad-signature');
    expect(
      verifyBunny(uri(base, token.replace(/expires=\d+/, 'expires=9999999999')), key, now),
    ).toBe('bad-signature');
  });
});
