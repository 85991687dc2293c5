import { describe, expect, it } from 'vitest';
import {
  checkCompiledAccessRules,
  compileAccessRules,
  requestOrigin,
  type AccessContext,
} from '../../../src/auth/access-rules.js';
import { GeoIp } from '../../../src/auth/geoip.js';
import { addressList, clientAddress, listHas } from '../../../src/net/client-address.js';
import type { ErrorCode, StagedoorError } from '../../../src/errors.js';

const geo = new GeoIp();

/** Compiles a token's rules and checks one request against them, as the authenticator does. */
async function checkAccessRules(
  claims: Record<string, unknown>,
  context: AccessContext,
  using: GeoIp,
  maxEntries: number,
): Promise<void> {
  const rules = compileAccessRules(claims, maxEntries);
  if (rules) await checkCompiledAccessRules(rules, context, using);
}

async function outcome(
  allow: Record<string, unknown>,
  address: string,
  origin?: string,
): Promise<ErrorCode | 'ok'> {
  try {
    await checkAccessRules({ access: { allow } }, { address, origin }, geo, 5);
    return 'ok';
  } catch (error) {
    return (error as StagedoorError).code;
  }
}

describe('token access rules', () => {
  it('matches IPv4 and IPv6 addresses and CIDR ranges, mapped addresses too', async () => {
    expect(await outcome({ ips: ['203.0.113.7'] }, '203.0.113.7')).toBe('ok');
    expect(await outcome({ ips: ['203.0.113.7'] }, '::ffff:203.0.113.7')).toBe('ok');
    expect(await outcome({ ips: ['203.0.113.7'] }, '203.0.113.8')).toBe('IP_DENIED');
    expect(await outcome({ ips: ['10.0.0.0/8', '192.168.1.0/24'] }, '10.200.3.4')).toBe('ok');
    expect(await outcome({ ips: ['10.0.0.0/8', '192.168.1.0/24'] }, '192.168.2.1')).toBe(
      'IP_DENIED',
    );
    expect(await outcome({ ips: ['2001:db8::/32'] }, '2001:db8:1::5')).toBe('ok');
    expect(await outcome({ ips: ['2001:db8::/32'] }, '2001:db9::5')).toBe('IP_DENIED');
    expect(await outcome({ ips: ['::1'] }, '::1')).toBe('ok');
  });

  it('matches exact origins and fails closed without one', async () => {
    expect(await outcome({ origins: ['https://a.example'] }, '1.2.3.4', 'https://a.example')).toBe(
      'ok',
    );
    expect(
      await outcome({ origins: ['https://a.example'] }, '1.2.3.4', 'https://a.example.evil'),
    ).toBe('ORIGIN_DENIED');
    expect(await outcome({ origins: ['https://a.example'] }, '1.2.3.4', undefined)).toBe(
      'ORIGIN_DENIED',
    );
  });

  it('looks countries up with geoip-country and fails closed on unknown addresses', async () => {
    expect(await outcome({ countries: ['us'] }, '8.8.8.8')).toBe('ok');
    expect(await outcome({ countries: ['gb', 'fr'] }, '8.8.8.8')).toBe('COUNTRY_DENIED');
    expect(await outcome({ countries: ['gb'] }, '81.2.69.142')).toBe('ok');
    expect(await outcome({ countries: ['us'] }, '127.0.0.1')).toBe('COUNTRY_DENIED');
    expect(await outcome({ countries: ['us'] }, '2001:4860:4860::8888')).toBe('ok');
  });

  it('loads geoip-country only when a token carries a country rule', async () => {
    const lazy = new GeoIp();
    await checkAccessRules(
      { access: { allow: { ips: ['8.8.8.8'], origins: ['https://a.example'] } } },
      { address: '8.8.8.8', origin: 'https://a.example' },
      lazy,
      5,
    );
    await checkAccessRules({}, { address: '8.8.8.8', origin: undefined }, lazy, 5);
    expect(lazy.loaded).toBe(false);
    await checkAccessRules(
      { access: { allow: { countries: ['us'] } } },
      { address: '8.8.8.8', origin: undefined },
      lazy,
      5,
    );
    expect(lazy.loaded).toBe(true);
  });

  it('ANDs kinds and ORs entries within a kind', async () => {
    const allow = {
      ips: ['8.8.8.0/24', '4.4.4.4'],
      origins: ['https://a.example'],
      countries: ['us', 'ch'],
    };
    expect(await outcome(allow, '8.8.8.8', 'https://a.example')).toBe('ok');
    expect(await outcome(allow, '4.4.4.4', 'https://a.example')).toBe('ok');
    expect(await outcome(allow, '8.8.8.8', 'https://b.example')).toBe('ORIGIN_DENIED');
    expect(await outcome(allow, '1.1.1.1', 'https://a.example')).toBe('IP_DENIED');
    expect(await outcome({ ips: ['81.2.69.142'], countries: ['us'] }, '81.2.69.142')).toBe(
      'COUNTRY_DENIED',
    );
  });

  it('refuses malformed or oversized rule lists as CLAIM_INVALID', async () => {
    expect(await outcome({ ips: ['a', 'b', 'c', 'd', 'e', 'f'] }, '1.1.1.1')).toBe('CLAIM_INVALID');
    expect(await outcome({ ips: 'not-a-list' }, '1.1.1.1')).toBe('CLAIM_INVALID');
    expect(await outcome({ ips: ['not-an-ip'] }, '1.1.1.1')).toBe('CLAIM_INVALID');
    expect(await outcome({ ips: ['10.0.0.0/99'] }, '1.1.1.1')).toBe('CLAIM_INVALID');
    expect(await outcome({ planets: ['mars'] }, '1.1.1.1')).toBe('CLAIM_INVALID');
    await expect(
      checkAccessRules({ access: 'x' }, { address: '1.1.1.1', origin: undefined }, geo, 5),
    ).rejects.toMatchObject({ code: 'CLAIM_INVALID' });
    await expect(
      checkAccessRules({}, { address: '1.1.1.1', origin: undefined }, geo, 5),
    ).resolves.toBeUndefined();
  });

  it('reads the origin from Origin, else from the Referer', () => {
    expect(requestOrigin({ origin: 'https://a.example' })).toBe('https://a.example');
    expect(requestOrigin({ referer: 'https://b.example/page?x=1' })).toBe('https://b.example');
    expect(requestOrigin({ origin: 'null' })).toBeUndefined();
    expect(requestOrigin({})).toBeUndefined();
  });
});

describe('client address behind proxies', () => {
  const trusted = addressList(['127.0.0.1', '10.0.0.0/8']);
  it('believes X-Forwarded-For only from a trusted proxy, and takes the right-most untrusted hop', () => {
    expect(clientAddress('127.0.0.1', '8.8.8.8', trusted)).toBe('8.8.8.8');
    expect(clientAddress('::ffff:127.0.0.1', '1.1.1.1, 8.8.8.8, 10.1.2.3', trusted)).toBe(
      '8.8.8.8',
    );
    expect(clientAddress('203.0.113.9', '8.8.8.8', trusted)).toBe('203.0.113.9');
    expect(clientAddress('127.0.0.1', undefined, trusted)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', 'garbage', trusted)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '8.8.8.8', undefined)).toBe('127.0.0.1');
    expect(listHas(trusted, '10.9.9.9')).toBe(true);
  });
});
