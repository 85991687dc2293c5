// docs/configuration.md, docs/admin-api.md and docs/openapi.json are generated (`npm run docs`) from
// the config schema and the admin server's OpenAPI description: a committed copy that differs from
// what the generator writes now is stale, and fails here.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';

function generatorCheck(): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['scripts/gen-docs.mjs', '--check']);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

describe('generated references', () => {
  it('are current: regenerating writes the committed files byte for byte', async () => {
    const result = await generatorCheck();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);

  it('the configuration reference names every top-level key with a meaning', () => {
    const reference = readFileSync('docs/configuration.md', 'utf8');
    for (const key of Object.keys(configSchema.shape))
      expect(reference, key).toMatch(
        new RegExp(`^\\| \`${key}\` \\|[^\\n]*\\| [^|\\s][^|]* \\|$`, 'm'),
      );
  });

  it('the admin API reference lists every route of the OpenAPI description', () => {
    const api = JSON.parse(readFileSync('docs/openapi.json', 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const reference = readFileSync('docs/admin-api.md', 'utf8');
    const routes = Object.entries(api.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `## \`${m.toUpperCase()} ${path}\``),
    );
    expect(routes.length).toBeGreaterThan(5);
    for (const route of routes) expect(reference).toContain(route);
  });
});
