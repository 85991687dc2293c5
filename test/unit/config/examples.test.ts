import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../../src/config/load-config.js';
import { stripJsonComments } from '../../../src/config/jsonc.js';

const hasCompose = spawnSync('docker-compose', ['--version']).status === 0;
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('shipped configuration and deployment files', () => {
  it('config/docker.json validates', () => {
    const config = loadConfig({ file: 'config/docker.json', env: {} });
    expect(config.auth.issuers[0]).toMatchObject({
      issuer: 'http://127.0.0.1:9000/stagedoor',
      allowHttp: true,
    });
    expect(config.admin.apiKeys[0]?.keyFile).toBe('/run/secrets/stagedoor_admin_key');
  });

  it('every config block of the README and docs/ loads through the real loader, comments and all', () => {
    const blocks = configBlocks(documentation());
    expect(blocks.length).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'stagedoor-readme-'));
    try {
      blocks.forEach((block, i) => {
        const file = join(dir, `block-${i}.json`);
        writeFileSync(file, block);
        expect(() => loadConfig({ file, env: {} }), `config block ${i}:\n${block}`).not.toThrow();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the full example (docs/config-example.md) names every key the schema has', () => {
    const full = configBlocks(readFileSync('docs/config-example.md', 'utf8')).find((b) =>
      b.includes('"rtmp"'),
    );
    const shown = new Set(keyPaths(JSON.parse(stripJsonComments(full!)) as object));
    const missing = keyPaths(parseConfig({})).filter((path) => !shown.has(path));
    expect(missing).toEqual([]);
  });

  it.runIf(hasCompose)('docker-compose.yml validates offline (docker-compose config)', () => {
    const out = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
      encoding: 'utf8',
    });
    expect(out).toContain('stagedoor:');
    expect(out).toContain('network_mode: service:stagedoor');
    expect(readFileSync('docker-compose.yml', 'utf8')).not.toMatch(/^version:/m);
  });

  it.runIf(hasCompose)(
    'docker-compose.cluster.yml validates offline: Redis with AOF, two nodes, the edge; it will not start without its secrets',
    () => {
      const env = {
        ...process.env,
        STAGEDOOR_CLUSTER_SECRET: 'c'.repeat(44),
        STAGEDOOR_EDGE_KEY: 'e'.repeat(44),
      };
      const out = execFileSync('docker-compose', ['-f', 'docker-compose.cluster.yml', 'config'], {
        encoding: 'utf8',
        env,
      });
      for (const part of ['redis:', 'stagedoor-a:', 'stagedoor-b:', 'edge:', '--appendonly'])
        expect(out).toContain(part);
      expect(out).toContain('STAGEDOOR_CLUSTER__NODE_ID: a');
      expect(out).toContain('STAGEDOOR_CLUSTER__NODE_ID: b');
      const bare = { ...process.env };
      delete bare.STAGEDOOR_CLUSTER_SECRET;
      delete bare.STAGEDOOR_EDGE_KEY;
      const refused = spawnSync('docker-compose', ['-f', 'docker-compose.cluster.yml', 'config'], {
        encoding: 'utf8',
        env: bare,
      });
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/STAGEDOOR_CLUSTER_SECRET/);
    },
  );

  it('config/cluster.json loads with what docker-compose.cluster.yml sets, and refuses to run without the cluster secret', () => {
    const env = {
      STAGEDOOR_CLUSTER__NODE_ID: 'a',
      STAGEDOOR_CLUSTER__INTERNAL__URL: 'http://stagedoor-a:8090',
      STAGEDOOR_CLUSTER__INTERNAL__SECRET: 'c'.repeat(44),
      STAGEDOOR_HLS__PASSES__EDGE_KEYS__0__KID: 'ek1',
      STAGEDOOR_HLS__PASSES__EDGE_KEYS__0__SECRET: 'e'.repeat(44),
    };
    const config = loadConfig({ file: 'config/cluster.json', env });
    expect(config.cluster).toMatchObject({
      nodeId: 'a',
      redis: { url: 'redis://redis:6379' },
      internal: { port: 8090, url: 'http://stagedoor-a:8090' },
    });
    expect(config.hls.passes.edgeKeys[0]?.kid).toBe('ek1');
    expect(() => loadConfig({ file: 'config/cluster.json', env: {} })).toThrow(
      /cluster\.internal\.secret/,
    );
  });

  it('deploy/cluster/nginx.conf is the shipped edge config rendered for the two nodes', async () => {
    const { clusterEdgeConfig } = (await import(
      pathToFileURL(resolve('deploy/cluster/render.mjs')).href
    )) as {
      clusterEdgeConfig: () => string;
    };
    const shipped = readFileSync('deploy/cluster/nginx.conf', 'utf8');
    expect(shipped).toBe(clusterEdgeConfig());
    expect(shipped).toContain('server stagedoor-a:8080;');
    expect(shipped).toContain('server stagedoor-b:8080;');
  });

  it.runIf(hasSystemdAnalyze)('the systemd units parse without a warning, hardened', () => {
    const result = spawnSync('systemd-analyze', ['verify', 'deploy/systemd/stagedoor.service'], {
      encoding: 'utf8',
    });
    expect(result.stderr).not.toMatch(/ignoring|Unknown|Failed to parse|bad-setting/i);
    const unit = readFileSync('deploy/systemd/stagedoor.service', 'utf8');
    for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'Restart=on-failure'])
      expect(unit).toContain(line);
    expect(unit).toMatch(/^ReadWritePaths=\S+/m);
  });
});

/** The README and every page of docs/, one text. */
function documentation(): string {
  const pages = readdirSync('docs').filter((f) => f.endsWith('.md'));
  return [
    readFileSync('README.md', 'utf8'),
    ...pages.map((f) => readFileSync(`docs/${f}`, 'utf8')),
  ].join('\n');
}

/** Blocks fenced as json or jsonc that hold an object: what a reader would paste into a config file. */
function configBlocks(readme: string): string[] {
  return [...readme.matchAll(/```jsonc?\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((b) => b.trimStart().startsWith('{'));
}

/** Dotted paths of an object's keys, objects inside arrays not followed (their keys vary by entry). */
function keyPaths(value: object, prefix = ''): string[] {
  return Object.entries(value).flatMap(([k, v]) => {
    const path = prefix + k;
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? [path, ...keyPaths(v as object, `${path}.`)]
      : [path];
  });
}
