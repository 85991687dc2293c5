// Shared pieces of the cluster benchmarks (bench/cluster-*.mjs): a real redis-server and Stagedoor
// nodes in their own processes (`node dist/main.js --config`, run `npm run build` first), their
// JSON log lines parsed and kept, RTMP test-pattern publishers, process CPU from /proc. Every
// process started here is killed by its pid on the way out, and the work directories removed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep } from './lib.mjs';

export const START_TIMEOUT_MS = 20_000;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const mainJs = join(root, 'dist', 'main.js');

/** `--name value` or `--name=value` on the command line, else `fallback`. */
export function option(name, fallback) {
  const at = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return fallback;
  const arg = process.argv[at];
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : process.argv[at + 1];
}

/** Every process a bench started: killed (by its pid) on the way out, whatever happens. */
const children = new Set();
const works = new Set();
export const running = (child) => child.exitCode === null && child.signalCode === null;

export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** A fresh temporary directory, removed on the way out. */
export function workDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  works.add(dir);
  return dir;
}

function killAllNow() {
  for (const child of children) if (running(child)) child.kill('SIGKILL');
  for (const dir of works) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    killAllNow();
    process.exit(130);
  });

/** Stops a child: `signal`, then SIGKILL if it is still there after `graceMs`. */
export async function stop(child, signal = 'SIGTERM', graceMs = 5000) {
  if (!running(child)) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => running(child) && child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls `probe` every 50 ms until it returns something, or fails after `timeoutMs`. */
export async function until(probe, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A redis-server in memory only, on a free port; resolves once it accepts connections. */
export async function startRedis(work) {
  const port = await freePort();
  const child = track(
    spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  let out = '';
  await withTimeout(
    new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
    }),
    START_TIMEOUT_MS,
    'redis-server to start',
  );
  const version = /v=([\d.]+)/.exec(out)?.[1] ?? /Redis version=([\d.]+)/.exec(out)?.[1];
  return { child, port, url: `redis://127.0.0.1:${port}`, version };
}

/**
 * A Stagedoor node in its own process, its JSON log lines (stdout) parsed and kept; resolves once
 * it logged `listening`. Loopback, free ports, an admin API key, one HS256 key (kid `bench`),
 * info logs as JSON; HLS off unless `config` says otherwise (an RTMP publisher is then a session
 * without an FFmpeg packager). `config` replaces top-level keys, `cluster` adds to `cluster`.
 */
export async function startNode(
  name,
  { work, redisUrl, keyPrefix, apiKey, secret, config = {}, cluster = {} },
) {
  const ports = { rtmp: await freePort(), http: await freePort(), admin: await freePort() };
  const full = {
    rtmp: { host: '127.0.0.1', port: ports.rtmp },
    http: { host: '127.0.0.1', port: ports.http },
    admin: { host: '127.0.0.1', port: ports.admin, apiKeys: [{ name: 'bench', key: apiKey }] },
    mediaDir: join(work, name, 'media'),
    stateDir: join(work, name, 'state'),
    banner: { enabled: false },
    log: { level: 'info', pretty: false },
    hls: { enabled: false },
    auth: { keys: [{ kid: 'bench', alg: 'HS256', secret }] },
    ...config,
    cluster: { redis: { url: redisUrl, keyPrefix }, nodeId: name, ...cluster },
  };
  const file = join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify(full, null, 2));
  // Only this config: no STAGEDOOR_* variable of the caller's shell may change it.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('STAGEDOOR_')),
  );
  const child = track(
    spawn(process.execPath, [mainJs, '--config', file], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const node = { name, child, ports, apiKey, logs: [], waiters: new Set(), stderr: '' };
  let rest = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    rest += chunk;
    for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
      const text = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (!text.trim()) continue;
      let line;
      try {
        line = JSON.parse(text);
      } catch {
        continue;
      }
      node.logs.push(line);
      for (const waiter of node.waiters) waiter.check(line);
    }
  });
  child.stderr.on('data', (d) => (node.stderr = (node.stderr + d).slice(-4000)));
  child.once('exit', (code, signal) => {
    for (const waiter of node.waiters)
      waiter.fail(
        new Error(`node ${name} exited (${code ?? signal}) ${node.stderr.trim()}`.trim()),
      );
  });
  /** The first log line from index `from` on that `match`es. */
  node.waitForLog = (match, timeoutMs, what, from = 0) => {
    const seen = node.logs.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    if (!running(child)) return Promise.reject(new Error(`node ${name} is not running`));
    let waiter;
    const found = new Promise((resolve, reject) => {
      waiter = {
        check: (line) => match(line) && resolve(line),
        fail: reject,
      };
      node.waiters.add(waiter);
    });
    return withTimeout(found, timeoutMs, `${what} on node ${name}`).finally(() =>
      node.waiters.delete(waiter),
    );
  };
  await node.waitForLog((l) => l.event === 'listening', START_TIMEOUT_MS, 'the start');
  return node;
}

/** A request to a node's admin API with its key. */
export function admin(node, path, { method = 'GET', body } = {}) {
  return fetch(`http://127.0.0.1:${node.ports.admin}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${node.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
}

/** A live 320x180/30 test pattern (ultrafast x264, zerolatency, no audio) published over RTMP for `seconds`. */
export function publish(url, seconds = 120) {
  const child = track(
    spawn(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re']
        .concat(['-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=30', '-t', String(seconds)])
        .concat(['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency'])
        .concat(['-pix_fmt', 'yuv420p', '-g', '30', '-an', '-f', 'flv', url]),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, exited, stderr: () => stderr.trim() };
}

const CLOCK_TICKS_PER_SEC = 100; // USER_HZ on Linux (getconf CLK_TCK)

/** CPU time (user + system, seconds) a live process used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ": state is field 0, utime 11, stime 12 (fields 3, 14 and 15 of proc(5)).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SEC;
}
