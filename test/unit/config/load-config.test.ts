import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, resolveConfigPath } from '../../../src/config/load-config.js';
import type { StagedoorError } from '../../../src/errors.js';
import { envOverrides, envVariableFor } from '../../../src/config/env-overrides.js';

function errorOf(fn: () => unknown): StagedoorError {
  try {
    fn();
  } catch (error) {
    return error as StagedoorError;
  }
  throw new Error('expected an error');
}

describe('config', () => {
  it('fills every default from an empty object', () => {
    const config = parseConfig({});
    expect(config.rtmp).toMatchObject({ host: '0.0.0.0', port: 1935, publisherTakeover: false });
    expect(config.http.port).toBe(8080);
    expect(config.admin).toMatchObject({
      enabled: true,
      host: '127.0.0.1',
      port: 8081,
      apiKeys: [],
    });
    expect(config.auth).toMatchObject({ keys: [], clockToleranceSec: 0, requireExp: true });
    expect(config.mediaDir).toBe('media');
  });

  it('refuses unknown keys and names them', () => {
    const error = errorOf(() => parseConfig({ rtmp: { prot: 1935 } }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('unknown key "rtmp.prot"');
    expect(
      errorOf(() =>
        parseConfig({ auth: { keys: [{ alg: 'HS256', secret: 'x'.repeat(32), sekret: 1 }] } }),
      ).message,
    ).toContain('unknown key "auth.keys[0].sekret"');
  });

  it('names the key holding a bad value', () => {
    expect(errorOf(() => parseConfig({ http: { port: 'eighty' } })).message).toContain(
      '"http.port"',
    );
    expect(
      errorOf(() => parseConfig({ auth: { keys: [{ alg: 'none', secret: 'x' }] } })).message,
    ).toContain('"auth.keys[0].alg"');
    // An LL-HLS part longer than its segment is refused where it is set.
    expect(
      errorOf(() => parseConfig({ hls: { segmentSec: 1, packager: { partTargetSec: 1.5 } } }))
        .message,
    ).toContain('"hls.packager.partTargetSec"');
  });

  it('refuses a key without exactly one source, and HS with a public key', () => {
    expect(errorOf(() => parseConfig({ auth: { keys: [{ alg: 'HS256' }] } })).message).toContain(
      'exactly one of',
    );
    expect(
      errorOf(() => parseConfig({ auth: { keys: [{ alg: 'HS256', publicKey: 'pem' }] } })).message,
    ).toContain('"auth.keys[0].publicKey"');
    expect(
      errorOf(() => parseConfig({ auth: { keys: [{ alg: 'RS256', secret: 'x'.repeat(40) }] } }))
        .message,
    ).toContain('needs a public key');
  });

  it('reads defaults → file → environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ rtmp: { port: 2000 }, http: { port: 9000 } }));
    const config = loadConfig({
      file,
      env: { STAGEDOOR_RTMP_PORT: '3000', STAGEDOOR_LOG_LEVEL: 'warn' },
    });
    expect(config.rtmp.port).toBe(3000);
    expect(config.http.port).toBe(9000);
    expect(config.log.level).toBe('warn');
  });

  it('takes any key from the environment (STAGEDOOR_ + path in upper snake case, parts joined by __), secrets from files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(
      file,
      JSON.stringify({ auth: { keys: [{ kid: 'a', alg: 'HS256', secret: 'x'.repeat(32) }] } }),
    );
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, `${'s'.repeat(40)}\n`);
    const config = loadConfig({
      file,
      env: {
        STAGEDOOR_HTTP__PORT: '8088',
        STAGEDOOR_HLS__SEGMENT_SEC: '2',
        STAGEDOOR_HTTP__TRUSTED_PROXIES: '["10.0.0.0/8"]',
        STAGEDOOR_STATE_DIR: '/var/lib/stagedoor',
        STAGEDOOR_AUTH__KEYS__0__SECRET_FILE: secretFile,
        STAGEDOOR_AUTH__KEYS__1__KID: 'b',
        STAGEDOOR_AUTH__KEYS__1__ALG: 'HS256',
        STAGEDOOR_AUTH__KEYS__1__SECRET: '"12345678901234567890123456789012"',
      },
    });
    expect(config.http.port).toBe(8088);
    expect(config.hls.segmentSec).toBe(2);
    expect(config.http.trustedProxies).toEqual(['10.0.0.0/8']);
    expect(config.stateDir).toBe('/var/lib/stagedoor');
    expect(config.auth.keys.map((k) => [k.kid, k.secret])).toEqual([
      ['a', 's'.repeat(40)],
      ['b', '12345678901234567890123456789012'],
    ]);
  });

  it('names the variable of a key as the environment reads it back (for messages that say what to set)', () => {
    for (const path of [
      ['rtmp', 'port'],
      ['rtmp', 'tls', 'port'],
      ['hls', 'segmentSec'],
      ['stateDir'],
      ['admin', 'apiKeys', 0, 'key'],
    ]) {
      const variable = envVariableFor(path);
      expect(
        envOverrides({ [variable]: '1' }).map((o) => o.path),
        variable,
      ).toEqual([path]);
    }
    expect(envVariableFor(['http', 'trustedProxies'])).toBe('STAGEDOOR_HTTP__TRUSTED_PROXIES');
  });

  it('names the variable when a key from the environment is wrong or unknown', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, '{}');
    expect(
      errorOf(() => loadConfig({ file, env: { STAGEDOOR_HTTP__PORT: 'eighty' } })).message,
    ).toMatch(/"http\.port": .*\(from STAGEDOOR_HTTP__PORT\)/);
    expect(
      errorOf(() => loadConfig({ file, env: { STAGEDOOR_HTTP__PROT: '80' } })).message,
    ).toMatch(/unknown key "http\.prot" \(from STAGEDOOR_HTTP__PROT\)/);
    expect(
      errorOf(() =>
        loadConfig({ file, env: { STAGEDOOR_ADMIN__API_KEYS__0__KEY_FILE: join(dir, 'none') } }),
      ).message,
    ).toMatch(/STAGEDOOR_ADMIN__API_KEYS__0__KEY_FILE: cannot read/);
  });

  it('explains an unreadable or non-JSON file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-config-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ not json');
    expect(errorOf(() => loadConfig({ file })).message).toMatch(/is not valid JSON/);
    expect(errorOf(() => loadConfig({ file: join(dir, 'missing.json') })).message).toMatch(
      /cannot be read/,
    );
  });

  it('reads // and block comments (JSONC), never inside strings, and keeps error positions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-config-'));
    const file = join(dir, 'commented.json');
    writeFileSync(
      file,
      [
        '{ // the public listener',
        '  "http": { "port": 9000 /* not 8080 */ },',
        '  "banner": { "publicHost": "live.example.com//x" } // a "//" in a string stays',
        '}',
      ].join('\n'),
    );
    const config = loadConfig({ file, env: {} });
    expect(config.http.port).toBe(9000);
    expect(config.banner.publicHost).toBe('live.example.com//x');
    writeFileSync(file, '{ // comment\n  "http": { "port": 9000, } }');
    expect(errorOf(() => loadConfig({ file, env: {} })).message).toMatch(
      /is not valid JSON .*(position 39|line 2 column 26)/,
    );
  });

  it('picks the file from --config, then STAGEDOOR_CONFIG, then the default', () => {
    expect(resolveConfigPath(['--config', 'a.json'], {})).toBe('a.json');
    expect(resolveConfigPath(['--config=b.json'], {})).toBe('b.json');
    expect(resolveConfigPath([], { STAGEDOOR_CONFIG: 'c.json' })).toBe('c.json');
    expect(resolveConfigPath([], {})).toBe('config/default.json');
  });

  it('ships a config/default.json that validates', () => {
    const config = loadConfig({ file: 'config/default.json', env: {} });
    expect(config.auth.keys[0]).toMatchObject({ kid: 'dev', alg: 'HS256', createIfMissing: true });
  });
});
