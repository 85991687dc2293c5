// The repo's nginx edge (deploy/nginx-edge/), run as it is documented: its own nginx.conf, with
// only the lines marked "SET" pointed at this test's origin, ports and directories.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

/** Replaces exactly one occurrence, so that a change to the shipped config breaks this loudly. */
function setLine(text: string, find: RegExp, replacement: string): string {
  const hits = text.match(new RegExp(find.source, 'gm'));
  if (hits?.length !== 1)
    throw new Error(`deploy/nginx-edge/nginx.conf: ${find} matched ${hits?.length ?? 0} times`);
  return text.replace(new RegExp(find.source, 'm'), replacement);
}

export async function startEdge(options: {
  originPort: number;
  edgeKeys: Array<{ kid: string; secret: string }>;
}): Promise<Edge> {
  const dir = mkdtempSync(join(tmpdir(), 'sd-edge-'));
  mkdirSync(join(dir, 'logs'));
  mkdirSync(join(dir, 'cache'));
  copyFileSync(join(EDGE, 'pass.js'), join(dir, 'pass.js'));
  const keys = options.edgeKeys.map((k) => `${k.kid}:${k.secret}`).join(' ');
  writeFileSync(join(dir, 'edge-keys.conf'), `js_var $stagedoor_edge_keys "${keys}";\n`);
  const port = await freePort();
  let conf = readFileSync(join(EDGE, 'nginx.conf'), 'utf8');
  conf = setLine(
    conf,
    /^load_module modules\/ngx_http_js_module\.so;/,
    `load_module ${JS_MODULE};`,
  );
  conf = setLine(conf, /^worker_processes auto;/, 'worker_processes 1;');
  conf = setLine(conf, /^\s*js_path \S+;/, `    js_path ${dir}/;`);
  conf = setLine(conf, /^\s*include \S+edge-keys\.conf;/, `    include ${dir}/edge-keys.conf;`);
  conf = setLine(
    conf,
    /^\s*server 127\.0\.0\.1:8080;/,
    `        server 127.0.0.1:${options.originPort};`,
  );
  conf = setLine(conf, /proxy_cache_path \S+/, `proxy_cache_path ${dir}/cache`);
  conf = setLine(conf, /^\s*listen 8088;/, `        listen 127.0.0.1:${port};`);
  conf = `daemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log warn;\n${conf}`;
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
