#!/usr/bin/env node
// Cluster revocation lag: two Stagedoor processes (`node dist/main.js`, run `npm run build` first)
// sharing one real redis-server on 127.0.0.1. Each trial publishes over RTMP to node B (a live
// 320x180 x264 test pattern, its own stream and jti), waits until B's admin API lists the
// publisher, then POSTs a revocation of that jti (or sub, `--by sub`) to node A's admin API and
// measures, from the wall clock just before the POST:
//   A: the POST's 201; A: `revocation_added` logged (stored in Redis, announced);
//   B: `session_end` logged with reason `revoked` (the cut, from the `time` of B's JSON log line,
//      same machine, same clock); B: the publisher (ffmpeg) disconnected and exited.
// Each revocation is lifted after its trial, so every trial's re-read on B sees the same list.
// Usage: node bench/cluster-revocation.mjs [--trials 20] [--warmup 1] [--by jti|sub]
// Goal: the cut under 100 ms at p95 (reported, never an exit code: benches report, tests assert).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { fmt, freePort, machine, signer, sleep, stats } from './lib.mjs';

const GOAL_MS = 100;
const START_TIMEOUT_MS = 20_000;
const LISTED_TIMEOUT_MS = 10_000;
const CUT_TIMEOUT_MS = 5_000;
const EXIT_TIMEOUT_MS = 5_000;
/** After B lists the publisher: let its first frames (and ffmpeg's start) pass before revoking. */
const SETTLE_MS = 300;

function option(name, fallback) {
  const at = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return fallback;
  const arg = process.argv[at];
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : process.argv[at + 1];
}

const TRIALS = Number(option('trials', process.env.BENCH_TRIALS ?? 20));
const WARMUP = Number(option('warmup', 1));
const BY = option('by', 'jti');
if (!Number.isInteger(TRIALS) || TRIALS < 1) throw new Error('--trials: a whole number ≥ 1');
if (!Number.isInteger(WARMUP) || WARMUP < 0) throw new Error('--warmup: a whole number ≥ 0');
if (BY !== 'jti' && BY !== 'sub') throw new Error('--by: jti or sub');

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const mainJs = join(root, 'dist', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'sd-bench-clrev-'));
const runId = randomBytes(4).toString('hex');
const secret = randomBytes(32).toString('hex');
const apiKey = randomBytes(24).toString('hex');
const mint = signer(secret, 'bench');

/** Every process this bench started: killed (by its pid) on the way out, whatever happens. */
const children = new Set();
const running = (child) => child.exitCode === null && child.signalCode === null;

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killAllNow() {
  for (const child of children) if (running(child)) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    killAllNow();
    process.exit(130);
  });

/** Stops a child: `signal`, then SIGKILL if it is still there after `graceMs`. */
async function stop(child, signal = 'SIGTERM', graceMs = 5000) {
  if (!running(child)) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => running(child) && child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function withTimeout(promise, ms, what) {
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

/** A redis-server in memory only, on a free port; resolves once it accepts connections. */
async function startRedis() {
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
 * it logged `listening`. HLS off: an RTMP publisher is then a session without an FFmpeg packager.
 */
async function startNode(name, redisUrl) {
  const ports = { rtmp: await freePort(), http: await freePort(), admin: await freePort() };
  const config = {
    rtmp: { host: '127.0.0.1', port: ports.rtmp },
    http: { host: '127.0.0.1', port: ports.http },
    admin: { host: '127.0.0.1', port: ports.admin, apiKeys: [{ name: 'bench', key: apiKey }] },
    mediaDir: join(work, name, 'media'),
    stateDir: join(work, name, 'state'),
    banner: { enabled: false },
    log: { level: 'info', pretty: false },
    hls: { enabled: false },
    auth: { keys: [{ kid: 'bench', alg: 'HS256', secret }] },
    cluster: { redis: { url: redisUrl, keyPrefix: `bench-${runId}:` }, nodeId: name },
  };
  const file = join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
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
  const node = { name, child, ports, logs: [], waiters: new Set(), stderr: '' };
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

function admin(node, path, { method = 'GET', body } = {}) {
  return fetch(`http://127.0.0.1:${node.ports.admin}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
}

/** A live 320x180/30 test pattern (ultrafast x264, zerolatency, no audio) published over RTMP. */
function publish(url) {
  const child = track(
    spawn(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re']
        .concat(['-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=30', '-t', '120'])
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

/** Polls `probe` every 50 ms until it returns something, or fails after `timeoutMs`. */
async function until(probe, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** One trial: a publisher on B, its revocation POSTed to A; every time in ms from before the POST. */
async function trial(a, b, label) {
  const stream = `live/clrev-${label}`;
  const jti = `bench-${runId}-${label}`;
  const token = await mint({
    sub: stream,
    scope: 'publish',
    jti,
    exp: Math.floor(Date.now() / 1000) + 600,
  });
  const publisher = publish(`rtmp://127.0.0.1:${b.ports.rtmp}/${stream}?token=${token}`);
  try {
    await until(
      async () => {
        if (!running(publisher.child))
          throw new Error(`the publisher of ${stream} exited: ${publisher.stderr()}`);
        const res = await admin(
          b,
          `/api/v1/sessions?kind=publisher&stream=${encodeURIComponent(stream)}`,
        );
        if (res.status !== 200) throw new Error(`B's sessions answered ${res.status}`);
        const { sessions } = await res.json();
        return sessions.find((s) => s.jti === jti);
      },
      LISTED_TIMEOUT_MS,
      `node B to list the publisher of ${stream}`,
    );
    await sleep(SETTLE_MS);
    const fromA = a.logs.length;
    const fromB = b.logs.length;
    const ended = b.waitForLog(
      (l) => l.event === 'session_end' && l.jti === jti,
      CUT_TIMEOUT_MS,
      `the session_end of ${stream}`,
      fromB,
    );
    ended.catch(() => {}); // awaited below; a failed POST must not leave it unhandled
    const t0 = Date.now();
    const p0 = performance.now();
    const res = await admin(a, '/api/v1/revocations', {
      method: 'POST',
      body: { type: BY, value: BY === 'jti' ? jti : stream, for: '10m', reason: 'bench' },
    });
    const postMs = performance.now() - p0;
    const added = await res.json();
    if (res.status !== 201)
      throw new Error(`A's POST /api/v1/revocations answered ${res.status}: ${added.message}`);
    const end = await ended;
    if (end.reason !== 'revoked') throw new Error(`B ended ${stream} as ${end.reason}`);
    const exit = await withTimeout(
      publisher.exited,
      EXIT_TIMEOUT_MS,
      `the publisher of ${stream} to be disconnected`,
    );
    const at = (node, from, match) => {
      const line = node.logs.slice(from).find(match);
      return line ? Date.parse(line.time) - t0 : NaN;
    };
    const result = {
      label,
      cutMs: Date.parse(end.time) - t0,
      postMs: +postMs.toFixed(1),
      storedMs: at(a, fromA, (l) => l.event === 'revocation_added' && l.id === added.id),
      enforcedMs: at(b, fromB, (l) => l.event === 'sessions_enforced' && l.id === added.id),
      disconnectedMs: exit.at - t0,
    };
    // Lifted: every trial's re-read on B then reads a list of the same size.
    const lifted = await admin(a, `/api/v1/revocations/${added.id}`, { method: 'DELETE' });
    if (lifted.status !== 204) throw new Error(`lifting ${added.id} answered ${lifted.status}`);
    return result;
  } finally {
    await stop(publisher.child, 'SIGKILL');
  }
}

async function main() {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` first`);
  const redis = await startRedis();
  const nodes = [];
  let results;
  try {
    nodes.push(await startNode('a', redis.url));
    nodes.push(await startNode('b', redis.url));
    const [a, b] = nodes;
    const warmup = [];
    for (let i = 0; i < WARMUP; i++) warmup.push(await trial(a, b, `w${i}`));
    const trials = [];
    for (let i = 0; i < TRIALS; i++) trials.push(await trial(a, b, String(i)));
    results = { warmup, trials };
  } finally {
    for (const node of nodes.reverse()) await stop(node.child);
    await stop(redis.child);
  }
  const { warmup, trials } = results;
  const round = (s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, +v.toFixed(1)]));
  const of = (key) => round(stats(trials.map((t) => t[key]).filter(Number.isFinite)));
  const summary = {
    cut: of('cutMs'),
    post: of('postMs'),
    stored: of('storedMs'),
    enforced: of('enforcedMs'),
    disconnected: of('disconnectedMs'),
  };
  const met = summary.cut.p95 < GOAL_MS;
  const host = machine();
  const date = new Date().toISOString();
  console.log(
    `\nCluster revocation lag: a revocation (by ${BY}) POSTed to node A cuts a live RTMP publisher on node B; 2 node processes, redis-server ${redis.version ?? ''} on 127.0.0.1; ${TRIALS} trials (+${WARMUP} warm-up); ms from just before the POST; ${date}, ${host}\n`,
  );
  const row = (what, s) =>
    `  ${what.padEnd(48)}${[s.median, s.p95, s.max].map((v) => v.toFixed(1).padStart(8)).join('')}`;
  console.log(`  ${''.padEnd(48)}${['p50', 'p95', 'max'].map((h) => h.padStart(8)).join('')}`);
  console.log(row('A: POST answered 201', summary.post));
  console.log(row('A: stored + announced (revocation_added)', summary.stored));
  console.log(row('B: session_end logged = the cut', summary.cut));
  console.log(row('B: sessions_enforced logged (after its cuts)', summary.enforced));
  console.log(row('B: publisher disconnected (ffmpeg exited)', summary.disconnected));
  if (warmup.length)
    console.log(`\n  Warm-up (not counted): cut ${warmup.map((t) => `${t.cutMs} ms`).join(', ')}`);
  console.log(
    `  Goal, cut under ${GOAL_MS} ms at p95: ${met ? 'met' : 'NOT met'} (${fmt(summary.cut)})\n`,
  );
  const record = {
    bench: 'cluster-revocation',
    date,
    machine: host,
    redis: redis.version,
    by: BY,
    trials: TRIALS,
    warmup: WARMUP,
    goalMs: GOAL_MS,
    goalMet: met,
    cutMs: summary.cut,
    postMs: summary.post,
    storedMs: summary.stored,
    enforcedMs: summary.enforced,
    disconnectedMs: summary.disconnected,
  };
  console.log(JSON.stringify(record));
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'cluster-revocation.json'),
    JSON.stringify({ ...record, runs: trials, warmupRuns: warmup }, null, 2),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
