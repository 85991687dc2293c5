// docs/configuration.md, docs/admin-api.md and docs/openapi.json are generated (`npm run docs`) from
// the config schema and the admin server's OpenAPI description: a committed copy that differs from
// what the generator writes now is stale, and fails here.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
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

describe('the interactive API reference', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(testConfig(undefined, { hls: { enabled: false } }));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('is served by the admin port, from its own files, with no credential; not by the public port', async () => {
    const admin = `http://127.0.0.1:${server.adminPort}`;
    const page = await fetch(`${admin}/api/docs/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('swagger-ui');
    // Every script and style it loads comes from this server.
    for (const [, src] of html.matchAll(/(?:src|href)="([^"]+)"/g))
      expect(src, src).not.toMatch(/^(https?:)?\/\//);
    const description = await fetch(`${admin}/api/docs/json`);
    expect(description.status).toBe(200);
    expect(((await description.json()) as { paths: object }).paths).toHaveProperty(
      '/api/v1/sessions',
    );
    // The API itself still needs the credential.
    expect((await fetch(`${admin}/api/v1/sessions`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${server.httpPort}/api/docs/`)).status).toBe(404);
  });
});
