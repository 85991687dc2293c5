import { keyPair } from '../../helpers/keys.js';
import { execFileSync } from 'node:child_process';

import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importTrustedKey } from '../../../src/auth/import-key.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { KeyConfig } from '../../../src/config/schema.js';
import type { StagedoorError } from '../../../src/errors.js';

const keyConfig = (input: Record<string, unknown>): KeyConfig =>
  parseConfig({ auth: { keys: [input] } }).auth.keys[0]!;

async function rejection(input: Record<string, unknown>): Promise<StagedoorError> {
  try {
    await importTrustedKey(keyConfig(input), 'auth.keys[0]');
  } catch (error) {
    return error as StagedoorError;
  }
  throw new Error('expected the key to be refused');
}

describe('importing trusted keys', () => {
  const rsa = keyPair('rsa', { modulusLength: 2048 });

  it('reads RSA public keys as SPKI, PKCS#1 and X.509 certificate PEM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-keys-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
        '-subj',
        '/CN=stagedoor-test',
        '-days',
        '1',
      ],
      { stdio: 'ignore' },
    );
    const pems = [
      rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      readFileSync(join(dir, 'c.pem'), 'utf8'),
    ];
    expect(pems[1]).toContain('BEGIN RSA PUBLIC KEY');
    for (const publicKey of pems) {
      const key = await importTrustedKey(
        keyConfig({ kid: 'k', alg: 'RS256', publicKey }),
        'auth.keys[0]',
      );
      expect(key).toMatchObject({ kid: 'k', alg: 'RS256', subject: 'stream' });
      expect(key.secret).toBeUndefined();
    }
  });

  it('reads a public JWK and takes its kid', async () => {
    const ec = keyPair('ec', { namedCurve: 'P-256' });
    const jwk = { ...ec.publicKey.export({ format: 'jwk' }), kid: 'from-jwk' };
    const key = await importTrustedKey(keyConfig({ alg: 'ES256', jwk }), 'auth.keys[0]');
    expect(key.kid).toBe('from-jwk');
  });

  it('refuses private keys, mismatched key types and short secrets', async () => {
    expect(
      (
        await rejection({
          alg: 'RS256',
          publicKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        })
      ).message,
    ).toContain('private key');
    const ec = keyPair('ec', { namedCurve: 'P-256' });
    expect(
      (
        await rejection({
          alg: 'RS256',
          publicKey: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        })
      ).message,
    ).toContain('needs a rsa key');
    expect(
      (
        await rejection({
          alg: 'ES384',
          publicKey: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        })
      ).message,
    ).toContain('secp384r1');
    expect(
      (await rejection({ alg: 'ES256', jwk: ec.privateKey.export({ format: 'jwk' }) })).message,
    ).toContain('private');
    expect((await rejection({ alg: 'HS256', secret: 'short' })).message).toContain(
      'at least 32 bytes',
    );
    expect((await rejection({ alg: 'RS256', publicKey: 'not a pem' })).code).toBe('CONFIG_INVALID');
  });

  it('creates a missing secret file once (mode 0600) and reads it back after', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sd-secret-')), 'sub', 'dev-secret');
    const first = await importTrustedKey(
      keyConfig({ alg: 'HS256', secretFile: file, createIfMissing: true }),
      'auth.keys[0]',
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = await importTrustedKey(
      keyConfig({ alg: 'HS256', secretFile: file, createIfMissing: true }),
      'auth.keys[0]',
    );
    expect(Buffer.from(second.secret!).equals(Buffer.from(first.secret!))).toBe(true);
    expect((await rejection({ alg: 'HS256', secretFile: `${file}.absent` })).message).toContain(
      'auth.keys[0].secretFile',
    );
  });
});
