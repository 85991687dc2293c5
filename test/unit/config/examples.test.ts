import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../../src/config/load-config.js';

const hasCompose = spawnSync('docker-compose', ['--version']).status === 0;

describe('shipped configuration and deployment files', () => {
  it('config/docker.json validates', () => {
    const config = loadConfig({ file: 'config/docker.json', env: {} });
    expect(config.auth.issuers[0]).toMatchObject({
      issuer: 'http://127.0.0.1:9000/stagedoor',
      allowHttp: true,
    });
    expect(config.admin.apiKeys[0]?.keyFile).toBe('/run/secrets/stagedoor_admin_key');
  });

  it('every JSON example in the README validates against the schema', () => {
    const readme = readFileSync('README.md', 'utf8');
    const full = /```jsonc\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(full).toBeDefined();
    // jsonc → json: drop // comments outside strings, then parse.
    const json = full!.replace(
      /("(?:[^"\\]|\\.)*")|\/\/[^\n]*/g,
      (_m, str: string | undefined) => str ?? '',
    );
    expect(() => parseConfig(JSON.parse(json))).not.toThrow();
  });

  it.runIf(hasCompose)('docker-compose.yml validates offline (docker-compose config)', () => {
    const out = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
      encoding: 'utf8',
    });
    expect(out).toContain('stagedoor:');
    expect(out).toContain('network_mode: service:stagedoor');
  });
});
