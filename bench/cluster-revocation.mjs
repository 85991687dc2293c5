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
// `--by kick`: instead of a revocation, `DELETE /api/v1/sessions/<id>` on A kicks B's session
// (routed through Redis to its owner, answered once the owner has cut it).
// Usage: node bench/cluster-revocation.mjs [--trials 20] [--warmup 1] [--by jti|sub|kick]
// Goal: the cut under 100 ms at p95 (reported, never an exit code: benches report, tests assert).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { fmt, machine, signer, sleep, stats } from './lib.mjs';
import {
  admin,
  mainJs,
  option,
  publish,
  running,
  startNode,
  startRedis,
  stop,
  until,
  withTimeout,
  workDir,
} from './cluster-lib.mjs';

const GOAL_MS = 100;
const LISTED_TIMEOUT_MS = 10_000;
const CUT_TIMEOUT_MS = 5_000;
const EXIT_TIMEOUT_MS = 5_000;
/** After B lists the publisher: let its first frames (and ffmpeg's start) pass before revoking. */
const SETTLE_MS = 300;

const TRIALS = Number(option('trials', process.env.BENCH_TRIALS ?? 20));
const WARMUP = Number(option('warmup', 1));
const BY = option('by', 'jti');
if (!Number.isInteger(TRIALS) || TRIALS < 1) throw new Error('--trials: a whole number ≥ 1');
if (!Number.isInteger(WARMUP) || WARMUP < 0) throw new Error('--warmup: a whole number ≥ 0');
if (!['jti', 'sub', 'kick'].includes(BY)) throw new Error('--by: jti, sub or kick');

const here = dirname(fileURLToPath(import.meta.url));
const work = workDir('sd-bench-clrev-');
const runId = randomBytes(4).toString('hex');
const secret = randomBytes(32).toString('hex');
const apiKey = randomBytes(24).toString('hex');
const mint = signer(secret, 'bench');
const nodeOptions = (redisUrl) => ({
  work,
  redisUrl,
  keyPrefix: `bench-${runId}:`,
  apiKey,
  secret,
});

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
    const listed = await until(
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
    const res =
      BY === 'kick'
        ? await admin(a, `/api/v1/sessions/${encodeURIComponent(listed.id)}`, { method: 'DELETE' })
        : await admin(a, '/api/v1/revocations', {
            method: 'POST',
            body: { type: BY, value: BY === 'jti' ? jti : stream, for: '10m', reason: 'bench' },
          });
    const postMs = performance.now() - p0;
    const added = await res.json();
    if (res.status !== (BY === 'kick' ? 200 : 201))
      throw new Error(
        `A's ${BY === 'kick' ? 'kick' : 'revocation'} answered ${res.status}: ${added.message}`,
      );
    const end = await ended;
    const expected = BY === 'kick' ? 'kicked' : 'revoked';
    if (end.reason !== expected) throw new Error(`B ended ${stream} as ${end.reason}`);
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
    if (BY === 'kick') return result;
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
  const redis = await startRedis(work);
  const nodes = [];
  let results;
  try {
    nodes.push(await startNode('a', nodeOptions(redis.url)));
    nodes.push(await startNode('b', nodeOptions(redis.url)));
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
  const of = (key) => {
    const values = trials.map((t) => t[key]).filter(Number.isFinite);
    return values.length ? round(stats(values)) : undefined; // a kick stores and enforces nothing
  };
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
    BY === 'kick'
      ? `\nCluster kick lag: DELETE /api/v1/sessions/<id> on node A kicks a live RTMP publisher on node B; 2 node processes, redis-server ${redis.version ?? ''} on 127.0.0.1; ${TRIALS} trials (+${WARMUP} warm-up); ms from just before the DELETE; ${date}, ${host}\n`
      : `\nCluster revocation lag: a revocation (by ${BY}) POSTed to node A cuts a live RTMP publisher on node B; 2 node processes, redis-server ${redis.version ?? ''} on 127.0.0.1; ${TRIALS} trials (+${WARMUP} warm-up); ms from just before the POST; ${date}, ${host}\n`,
  );
  const row = (what, s) =>
    s === undefined
      ? `  ${what.padEnd(48)}       —`
      : `  ${what.padEnd(48)}${[s.median, s.p95, s.max].map((v) => v.toFixed(1).padStart(8)).join('')}`;
  console.log(`  ${''.padEnd(48)}${['p50', 'p95', 'max'].map((h) => h.padStart(8)).join('')}`);
  if (BY === 'kick') {
    console.log(row('A: DELETE answered 200 (the owner has cut it)', summary.post));
    console.log(row('B: session_end logged = the cut', summary.cut));
  } else {
    console.log(row('A: POST answered 201', summary.post));
    console.log(row('A: stored + announced (revocation_added)', summary.stored));
    console.log(row('B: session_end logged = the cut', summary.cut));
    console.log(row('B: sessions_enforced logged (after its cuts)', summary.enforced));
  }
  console.log(row('B: publisher disconnected (ffmpeg exited)', summary.disconnected));
  if (warmup.length)
    console.log(`\n  Warm-up (not counted): cut ${warmup.map((t) => `${t.cutMs} ms`).join(', ')}`);
  console.log(
    `  Goal, cut under ${GOAL_MS} ms at p95: ${met ? 'met' : 'NOT met'} (${fmt(summary.cut)})\n`,
  );
  const record = {
    bench: BY === 'kick' ? 'cluster-kick' : 'cluster-revocation',
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
    join(here, 'results', BY === 'kick' ? 'cluster-kick.json' : 'cluster-revocation.json'),
    JSON.stringify({ ...record, runs: trials, warmupRuns: warmup }, null, 2),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
