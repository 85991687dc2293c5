import { keyPair } from '../../helpers/keys.js';

import { exportJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { IssuerKeys } from '../../../src/auth/oidc/issuer-keys.js';

async function jwk(kid: string) {
  const { publicKey } = keyPair('ec', { namedCurve: 'P-256' });
  return { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
}

describe('issuer keys', () => {
  it('refetches on an unknown kid at most once per cooldown, even while the provider fails', async () => {
    let now = 0;
    let up = true;
    let fetches = 0;
    let keys = { keys: [await jwk('a')] };
    const fakeFetch = (async () => {
      fetches++;
      if (!up) throw new Error('connection refused');
      return new Response(JSON.stringify(keys), { status: 200 });
    }) as unknown as typeof fetch;
    const issuerKeys = new IssuerKeys({
      jwksUri: async () => new URL('https://idp.example/jwks'),
      cooldownMs: 30_000,
      refreshMs: 600_000,
      timeoutMs: 1000,
      fetch: fakeFetch,
      now: () => now,
    });
    const token = { payload: '', signature: '' };
    await expect(issuerKeys.resolve({ alg: 'ES256', kid: 'a' }, token)).resolves.toBeDefined();
    expect(fetches).toBe(1);
    // A flood of unknown kids within the cooldown: no fetch at all.
    for (let i = 0; i < 1000; i++)
      await expect(
        issuerKeys.resolve({ alg: 'ES256', kid: `bogus${i}` }, token),
      ).rejects.toMatchObject({ code: 'KEY_UNKNOWN' });
    expect(fetches).toBe(1);
    // Rotation after the cooldown: the new kid is found with one fetch.
    keys = { keys: [await jwk('b'), keys.keys[0]!] };
    now += 31_000;
    await expect(issuerKeys.resolve({ alg: 'ES256', kid: 'b' }, token)).resolves.toBeDefined();
    expect(fetches).toBe(2);
    // The provider goes down: known kids keep working, unknown ones cost one failed fetch per cooldown.
    up = false;
    now += 31_000;
    for (let i = 0; i < 100; i++)
      await expect(issuerKeys.resolve({ alg: 'ES256', kid: `x${i}` }, token)).rejects.toMatchObject(
        { code: 'KEY_UNKNOWN' },
      );
    expect(fetches).toBe(3);
    await expect(issuerKeys.resolve({ alg: 'ES256', kid: 'a' }, token)).resolves.toBeDefined();
    await issuerKeys.refresh();
    expect(issuerKeys.lastError).toBe('connection refused');
    await expect(issuerKeys.resolve({ alg: 'ES256', kid: 'b' }, token)).resolves.toBeDefined();
  });
});
