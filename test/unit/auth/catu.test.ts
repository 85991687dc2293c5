// A Common Access Token's `catu` (CTA-5007 URI claim) against the URL a credential came on: every
// component and match type, malformed claims refused, and the request URL read as the client asked
// for it (forwarded scheme and host believed only from trusted proxies; the token's own parameter
// left out of the query).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkUriRules, compileUriRules } from '../../../src/auth/cat/catu.js';
import { httpRequestUrl, requestUrl } from '../../../src/net/request-url.js';
import { addressList } from '../../../src/net/client-address.js';

const url = requestUrl(
  'https',
  'Media.Example.com:8443',
  '/live/cam1/copy_s12.m4s?x=1&token=abc&b=2',
);
const passes = (claim: unknown, at = url) => {
  try {
    checkUriRules(compileUriRules(claim), at);
    return true;
  } catch (error) {
    expect(error).toMatchObject({ code: 'STREAM_DENIED' });
    return false;
  }
};

describe('catu', () => {
  it('reads the URL as the client asked for it, without the token itself', () => {
    expect(url).toEqual({
      scheme: 'https',
      host: 'media.example.com',
      port: '8443',
      path: '/live/cam1/copy_s12.m4s',
      query: 'x=1&b=2',
    });
  });

  it('reads path and query as the router does: a `#` cannot smuggle a matching path past catu', () => {
    // Fastify: params {stream: cam2, file: seg1.ts}, query {'/live/cam1/index.m3u8': ''}.
    expect(requestUrl('http', 'h', '/live/cam2/seg1.ts#/live/cam1/index.m3u8')).toMatchObject({
      path: '/live/cam2/seg1.ts',
      query: '%2Flive%2Fcam1%2Findex.m3u8=',
    });
    // The query the server acts on (fast-querystring after the `?`) is the one matched.
    const url = requestUrl('http', 'h', '/live/cam1/a.m3u8?quality=low#&token=T&_HLS_skip=YES');
    expect(url.path).toBe('/live/cam1/a.m3u8');
    expect(Object.fromEntries(new URLSearchParams(url.query))).toEqual({
      quality: 'low#',
      _HLS_skip: 'YES',
    });
    // Fastify: query {'x?y': '1'}.
    expect(
      Object.fromEntries(
        new URLSearchParams(requestUrl('http', 'h', '/live/cam1/a.m3u8#x?y=1').query),
      ),
    ).toEqual({ 'x?y': '1' });
  });

  it('matches each component', () => {
    expect(passes({ 0: { 0: 'https' } })).toBe(true);
    expect(passes({ 0: { 0: 'http' } })).toBe(false);
    expect(passes({ 1: { 2: '.example.com' } })).toBe(true);
    expect(passes({ 1: { 0: 'evil.example' } })).toBe(false);
    expect(passes({ 2: { 0: '8443' } })).toBe(true);
    expect(passes({ 2: { 0: '443' } })).toBe(false);
    expect(passes({ 3: { 1: '/live/cam1/' } })).toBe(true);
    expect(passes({ 3: { 1: '/live/cam2/' } })).toBe(false);
    expect(passes({ 4: { 0: 'x=1&b=2' } })).toBe(true);
    expect(passes({ 4: { 3: 'y=' } })).toBe(false);
    expect(passes({ 5: { 0: '/live/cam1' } })).toBe(true);
    expect(passes({ 6: { 0: 'copy_s12.m4s' } })).toBe(true);
    expect(passes({ 7: { 0: 'copy_s12' } })).toBe(true);
    expect(passes({ 8: { 0: '.m4s' } })).toBe(true);
    expect(passes({ 8: { 0: '.m3u8' } })).toBe(false);
  });

  it('needs every component named to match', () => {
    expect(passes({ 1: { 0: 'media.example.com' }, 3: { 1: '/live/cam1/' } })).toBe(true);
    expect(passes({ 1: { 0: 'media.example.com' }, 3: { 1: '/live/cam2/' } })).toBe(false);
  });

  it('matches by regex and by SHA-256 and SHA-512/256 of the component', () => {
    expect(passes({ 3: { 4: ['^/live/cam[0-9]+/'] } })).toBe(true);
    expect(passes({ 3: { 4: ['^/vod/'] } })).toBe(false);
    // A URL longer than 1,024 characters is not run through the issuer's regex: no match.
    const long = requestUrl('https', 'h', `/live/cam1/${'a'.repeat(1100)}.m4s`);
    expect(passes({ 3: { 4: ['^/live/cam1/'] } }, long)).toBe(false);
    expect(passes({ 3: { 1: '/live/cam1/' } }, long)).toBe(true);
    const sha256 = createHash('sha256').update('copy_s12.m4s').digest('hex');
    const sha512256 = createHash('sha512-256').update('copy_s12.m4s').digest('hex');
    expect(passes({ 6: { '-1': sha256 } })).toBe(true);
    expect(passes({ 6: { '-2': sha512256 } })).toBe(true);
    expect(passes({ 6: { '-1': sha512256 } })).toBe(false);
  });

  it('refuses a claim it cannot read, CLAIM_INVALID', () => {
    for (const claim of [
      'x',
      [],
      {},
      { 9: { 0: 'x' } },
      { path: { 0: '/' } },
      { 3: { 0: '/', 1: '/' } },
      { 3: { 5: '/' } },
      { 3: { 0: 7 } },
      { 3: { 4: '^/' } },
      { 3: { 4: ['('] } },
      { 3: { '-1': 'abc' } },
    ])
      expect(() => compileUriRules(claim), JSON.stringify(claim)).toThrow(
        expect.objectContaining({ code: 'CLAIM_INVALID' }) as Error,
      );
  });

  it('refuses a request that has no URL to match', () => {
    expect(() => checkUriRules(compileUriRules({ 3: { 1: '/' } }), undefined)).toThrow(
      expect.objectContaining({ code: 'STREAM_DENIED' }) as Error,
    );
  });

  it('believes X-Forwarded-Proto and -Host from a trusted proxy only', () => {
    const headers = {
      host: '10.0.0.5:8080',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'media.example.com',
    };
    const trusted = addressList(['127.0.0.1']);
    const viaProxy = httpRequestUrl(
      { url: '/live/cam1/index.m3u8', headers, socket: { remoteAddress: '127.0.0.1' } },
      trusted,
    );
    expect(viaProxy).toMatchObject({ scheme: 'https', host: 'media.example.com', port: '' });
    const direct = httpRequestUrl(
      { url: '/live/cam1/index.m3u8', headers, socket: { remoteAddress: '198.51.100.7' } },
      trusted,
    );
    expect(direct).toMatchObject({ scheme: 'http', host: '10.0.0.5', port: '8080' });
    const ws = httpRequestUrl(
      { url: '/ws/live/cam1', headers, socket: { remoteAddress: '127.0.0.1' } },
      trusted,
      true,
    );
    expect(ws.scheme).toBe('wss');
  });
});
