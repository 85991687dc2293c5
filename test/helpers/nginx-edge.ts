// The repo's nginx edge (deploy/nginx-edge/), run as it is documented: its own nginx.conf, with
// only the lines marked "SET" pointed at this test's origin, ports and directories.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventually } from './http.js';

const EDGE = resolve('deploy/nginx-edge');
const JS_MODULE = '/usr/lib/nginx/modules/ngx_http_js_module.so';

export interface Edge {
  port: number;
  url(path: string): string;
  /** The edge's error log, for failures. */
  errors(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export type Render = {
  renderEdgeConfig(options: Record<string, unknown>): string;
  renderEdgeKeys(
    keys: Array<{ kid: string; secret: string }>,
    catKeys?: Array<{ kid: string; key: string }>,
  ): string;
};
export const render = (await import(pathToFileURL(join(EDGE, 'render.mjs')).href)) as Render;

export async function startEdge(options: {
  originPort: number;
  edgeKeys: Array<{ kid: string; secret: string }>;
  /** The origin's http.corsOrigins, as the edge is told them. */
  corsOrigins?: string[];
  /** Verify Common Access Tokens (the origin's hls.passes.cdn format "cat") with these keys. */
  cat?: { keys: Array<{ kid: string; key: string }>; param?: string };
}): Promise<Edge> {
  const dir = mkdtempSync(join(tmpdir(), 'sd-edge-'));
  mkdirSync(join(dir, 'logs'));
  mkdirSync(join(dir, 'cache'));
  for (const file of ['pass.js', 'cat.js']) copyFileSync(join(EDGE, file), join(dir, file));
  writeFileSync(
    join(dir, 'edge-keys.conf'),
    render.renderEdgeKeys(options.edgeKeys, options.cat?.keys),
  );
  const port = await freePort();
  const conf = render.renderEdgeConfig({
    dir,
    origin: `127.0.0.1:${options.originPort}`,
    listen: `127.0.0.1:${port}`,
    cache: join(dir, 'cache'),
    corsOrigins: options.corsOrigins,
    ...(options.cat ? { passFormat: 'cat', catParam: options.cat.param ?? 'CAT' } : {}),
    workers: 1,
    jsModule: JS_MODULE,
    // Workers run as root here (the test's directories are root's own); a real edge runs them as
    // nginx's user, which must be able to write the cache directory.
    prelude: `daemon off;\nuser root;\npid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log warn;\n`,
  });
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const nginx = spawn('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  nginx.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const errors = () => {
    let log = '';
    try {
      log = readFileSync(join(dir, 'logs', 'error.log'), 'utf8');
    } catch {
      /* not written yet */
    }
    return `${stderr}${log}`;
  };
  await eventually(async () => {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${errors()}`);
    try {
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined;
    } catch {
      return undefined;
    }
  }, 10_000);
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    errors,
    stop: async () => {
      if (nginx.exitCode !== null) return;
      nginx.kill('SIGTERM');
      await new Promise((r) => nginx.once('exit', r));
    },
  };
}
