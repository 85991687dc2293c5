// The authenticator's decisions with a frozen clock: what a grant may do now, key trust for cached
// verifications, single use looked at by authenticate and used up only by consume.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { TokenAuthenticator } from '../../../src/auth/authenticator.js';
import { KeyStore } from '../../../src/auth/key-store.js';
import { TokenCache } from '../../../src/auth/token-cache.js';
import {
  FileStreamRuleStore,
  StreamSecurity,
  type SavedStreamRule,
} from '../../../src/auth/stream-security.js';
import { GeoIp } from '../../../src/auth/geoip.js';
import { UsedTokens } from '../../../src/auth/used-tokens.js';
import { importTrustedKey } from '../../../src/auth/import-key.js';
import { JsonStateFile } from '../../../src/state/json-state-file.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { StreamRuleConfig } from '../../../src/config/schema.js';

const NOW = 1_800_000_000_000;
const log = pino({ level: 'silent' });
const SECRET = 'a-secret-of-at-least-thirty-two-bytes!!';
const cam1 = { app: 'live', name: 'cam1' };

async function setup(streams: StreamRuleConfig[] = []) {
  const config = parseConfig({
    auth: {
      keys: [{ kid: 'hs', alg: 'HS256', secret: SECRET, actions: ['publish', 'play', 'admin'] }],
    },
  });
  const keys = new KeyStore(
    await Promise.all(config.auth.keys.map((k, i) => importTrustedKey(k, `auth.keys[${i}]`))),
  );
  const dir = mkdtempSync(join(tmpdir(), 'sd-authn-'));
  const security = await StreamSecurity.create(
    streams,
    keys,
    new FileStreamRuleStore(
      new JsonStateFile<SavedStreamRule[]>(join(dir, 'rules.json'), log),
      log,
    ),
    log,
  );
  const usedTokens = await UsedTokens.create(
    new JsonStateFile<Record<string, number>>(join(dir, 'used.json'), log),
    () => NOW,
  );
  const authenticator = new TokenAuthenticator({
    keys,
    cache: new TokenCache(100),
    security,
    usedTokens,
    geo: new GeoIp(),
    clockToleranceSec: 0,
    requireExp: true,
    maxAccessRuleEntries: 5,
    singleUsePublish: true,
    maxTokenLifetimeSec: 86_400,
    now: () => NOW,
  });
  return { authenticator, security };
}

const sign = (claims: Record<string, unknown>, secret = SECRET, kid = 'hs') =>
  new SignJWT({ exp: NOW / 1000 + 300, ...claims })
    .setProtectedHeader({ alg: 'HS256', kid })
    .sign(new TextEncoder().encode(secret));
const request = (
  token: string | undefined,
  action: 'publish' | 'play' | 'admin' = 'play',
  stream: { app: string; name: string } | undefined = cam1,
) => ({ token, action, protocol: 'hls' as const, stream, address: '127.0.0.1' });

describe('TokenAuthenticator', () => {
  it('admits an open stream without a token, and refuses the same anonymous grant once the stream is secured', async () => {
    const { authenticator, security } = await setup([
      { match: 'lobby/*', play: 'open', publish: 'secured', keys: [] },
    ]);
    const lobby = { app: 'lobby', name: 'hall' };
    const grant = await authenticator.authenticate(request(undefined, 'play', lobby));
    expect(() => authenticator.assertAllowed(grant, 'play', lobby)).not.toThrow();
    expect(() => authenticator.assertAllowed(grant, 'publish', lobby)).toThrow(
      expect.objectContaining({ code: 'TOKEN_MISSING' }),
    );
    await security.set('lobby/hall', { play: 'secured' });
    expect(() => authenticator.assertAllowed(grant, 'play', lobby)).toThrow(
      expect.objectContaining({ code: 'TOKEN_MISSING' }),
    );
  });

  it('trusts a cached verification only while its stream key is installed', async () => {
    const { authenticator, security } = await setup();
    const streamSecret = 'a-per-stream-secret-of-thirty-two-bytes';
    await security.set('live/cam1', {
      keys: [{ kid: 'cam1-key', alg: 'HS256', secret: streamSecret }],
    });
    const token = await sign({ scope: 'play' }, streamSecret, 'cam1-key');
    const grant = await authenticator.authenticate(request(token));
    expect(authenticator.trusts(grant)).toBe(true);
    await security.set('live/cam1', { keys: [] });
    expect(authenticator.trusts(grant)).toBe(false);
    expect(() => authenticator.assertAllowed(grant, 'play', cam1)).toThrow(
      expect.objectContaining({ code: 'KEY_UNKNOWN' }),
    );
    await expect(authenticator.authenticate(request(token))).rejects.toMatchObject({
      code: 'KEY_UNKNOWN',
    });
    // The same key material back under the same kid is a new trusted key: the token verifies afresh.
    await security.set('live/cam1', {
      keys: [{ kid: 'cam1-key', alg: 'HS256', secret: streamSecret }],
    });
    await expect(authenticator.authenticate(request(token))).resolves.toMatchObject({
      kid: 'cam1-key',
    });
  });

  it('looks at a single-use publish token in authenticate and uses it up only in consume', async () => {
    const { authenticator } = await setup();
    const token = await sign({ scope: 'publish', jti: 'once' });
    const first = await authenticator.authenticate(request(token, 'publish'));
    await authenticator.authenticate(request(token, 'publish')); // a preliminary check, a refusal: nothing used
    authenticator.consume(first, 'publish');
    await expect(authenticator.authenticate(request(token, 'publish'))).rejects.toMatchObject({
      code: 'TOKEN_REUSED',
    });
    expect(() => authenticator.consume(first, 'publish')).toThrow(
      expect.objectContaining({ code: 'TOKEN_REUSED' }),
    );
    // Play is never single use.
    await expect(
      authenticator.authenticate(request(await sign({ scope: 'play', jti: 'once' }))),
    ).resolves.toBeDefined();
  });

  it('holds admin to the scope admin, whatever the key allows', async () => {
    const { authenticator } = await setup();
    await expect(
      authenticator.authenticate(request(await sign({ sub: 'live/cam1' }), 'admin', undefined)),
    ).rejects.toMatchObject({ code: 'SCOPE_DENIED' });
    await expect(
      authenticator.authenticate(
        request(await sign({ scope: 'admin:live/cam1' }), 'admin', undefined),
      ),
    ).rejects.toMatchObject({ code: 'SCOPE_DENIED' });
    await expect(
      authenticator.authenticate(
        request(await sign({ sub: 'ops', scope: 'admin' }), 'admin', undefined),
      ),
    ).resolves.toMatchObject({ subject: 'ops' });
  });
});
