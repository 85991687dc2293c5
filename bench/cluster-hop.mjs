#!/usr/bin/env node
// What the internal hop costs: one stream published on node A (a live 320x180 test pattern, the
// packager's passthrough rendition, 1 s segments), and V simulated HLS viewers (bench/viewer-load.mjs,
// two load processes, a token each) watching it straight from A, or through node B, which
// authorises each viewer and reads the media from A over A's internal listener (one fetch per
// file, coalesced and cached). Rounds alternate (direct, hop, hop, direct, …); each round also
// measures A and B with no viewers, so that what the viewers cost shows apart from the publisher.
// Then LL-HLS: L players on A and L on B at the same time (bench/ll-viewer-load.mjs), and for every
// part, when B's players had it minus when A's had it: the latency the hop adds.
// Usage: node bench/cluster-hop.mjs [--viewers 1000] [--seconds 20] [--rounds 3] [--ll 50]
// Run `npm run build` first. Redis and both nodes are processes of this bench, killed on the way out.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { freePort, machine, playerLoad, signer, sleep } from './lib.mjs';
import {
  cpuSeconds,
  option,
  publish,
  startNode,
  startRedis,
  stop,
  until,
  workDir,
} from './cluster-lib.mjs';

const VIEWERS = Number(option('viewers', 1000));
const SECONDS = Number(option('seconds', 20));
const ROUNDS = Number(option('rounds', 3));
const LL_VIEWERS = Number(option('ll', 50));
const IDLE_SECONDS = 5;
const here = dirname(fileURLToPath(import.meta.url));
const work = workDir('sd-bench-hop-');
const secret = randomBytes(32).toString('hex');
const apiKey = randomBytes(24).toString('hex');
const clusterSecret = randomBytes(32).toString('base64');
const mint = signer(secret, 'bench');
const STREAM = 'live/hop';

const percentile = (sorted, q) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
const median = (values) =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
const range = (values) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;

/** CPU cores a process used over `run()`, with run()'s result. */
async function measured(nodes, run) {
  const before = nodes.map((n) => cpuSeconds(n.child.pid));
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  const cores = nodes.map((n, i) => (cpuSeconds(n.child.pid) - before[i]) / seconds);
  return { result, cores };
}

function llLoader(port, viewers) {
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('ll-viewer-load.mjs', import.meta.url)),
      String(port),
      STREAM,
      String(viewers),
      String(SECONDS),
      secret,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`ll viewer load exited ${code}`)),
    ),
  );
}

/** Per part both loads had: median time B's players had it minus A's (ms). */
function addedByHop(direct, hop) {
  const mid = (times) => median(times);
  const added = [];
  for (const [name, times] of Object.entries(hop.delivered)) {
    const onA = direct.delivered[name];
    if (!onA?.length || !times.length) continue;
    added.push(mid(times) - mid(onA));
  }
  added.sort((x, y) => x - y);
  return { parts: added.length, p50: percentile(added, 0.5), p95: percentile(added, 0.95) };
}

async function main() {
  const redis = await startRedis(work);
  const common = {
    work,
    redisUrl: redis.url,
    keyPrefix: `bench-hop-${randomBytes(3).toString('hex')}:`,
    apiKey,
    secret,
    config: {
      log: { level: 'info', pretty: false },
      hls: { renditions: [{ name: 'copy', copy: true }], segmentSec: 1 },
      auth: { keys: [{ kid: 'bench', alg: 'HS256', secret }], cacheMaxEntries: 20_000 },
    },
  };
  const nodeOn = async (name) =>
    startNode(name, {
      ...common,
      cluster: {
        leaseTtlSec: 5,
        internal: { host: '127.0.0.1', port: await freePort(), secret: clusterSecret },
      },
    });
  const a = await nodeOn('a');
  const b = await nodeOn('b');
  const total = ROUNDS * (2 * SECONDS + IDLE_SECONDS + 6) + SECONDS + 60;
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const publisher = publish(
    `rtmp://127.0.0.1:${a.ports.rtmp}/${STREAM}?token=${await mint({ sub: STREAM, scope: 'publish', exp })}`,
    total,
  );
  const play = await mint({ sub: STREAM, scope: 'play', exp });
  await until(
    async () => {
      const res = await fetch(`http://127.0.0.1:${b.ports.http}/${STREAM}/copy.m3u8?token=${play}`);
      return res.status === 200 ? true : undefined;
    },
    20_000,
    'the stream playable through B',
  );
  await sleep(2000);

  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const idle = await measured([a, b], () => sleep(IDLE_SECONDS * 1000));
    const order = round % 2 === 0 ? ['direct', 'hop'] : ['hop', 'direct'];
    const entry = { idle: { aCores: idle.cores[0], bCores: idle.cores[1] } };
    for (const shape of order) {
      const port = shape === 'direct' ? a.ports.http : b.ports.http;
      const { result, cores } = await measured([a, b], () =>
        playerLoad(port, STREAM, VIEWERS, { seconds: SECONDS, secret, loaders: 2 }),
      );
      entry[shape] = { ...result, aCores: cores[0], bCores: cores[1] };
      await sleep(3000);
    }
    rounds.push(entry);
    console.error(
      `round ${round + 1}: direct p99 ${entry.direct.p99.toFixed(0)} ms A ${entry.direct.aCores.toFixed(2)} cores; hop p99 ${entry.hop.p99.toFixed(0)} ms A ${entry.hop.aCores.toFixed(2)} B ${entry.hop.bCores.toFixed(2)} cores; idle A ${entry.idle.aCores.toFixed(2)}`,
    );
  }

  const ll = [];
  for (let round = 0; round < ROUNDS; round++) {
    const [direct, hop] = await Promise.all([
      llLoader(a.ports.http, LL_VIEWERS),
      llLoader(b.ports.http, LL_VIEWERS),
    ]);
    ll.push({ ...addedByHop(direct, hop), errors: direct.errors + hop.errors });
    await sleep(2000);
  }

  publisher.child.kill('SIGKILL');
  await Promise.all([stop(a.child), stop(b.child)]);
  await stop(redis.child);

  const pick = (shape, field) => rounds.map((r) => r[shape][field]);
  const summary = {
    direct: {
      p50: median(pick('direct', 'p50')),
      p99: median(pick('direct', 'p99')),
      p99s: pick('direct', 'p99'),
      aCores: median(pick('direct', 'aCores')),
      aCoresAll: pick('direct', 'aCores'),
      errors: pick('direct', 'errors').reduce((x, y) => x + y, 0),
    },
    hop: {
      p50: median(pick('hop', 'p50')),
      p99: median(pick('hop', 'p99')),
      p99s: pick('hop', 'p99'),
      aCores: median(pick('hop', 'aCores')),
      aCoresAll: pick('hop', 'aCores'),
      bCores: median(pick('hop', 'bCores')),
      bCoresAll: pick('hop', 'bCores'),
      errors: pick('hop', 'errors').reduce((x, y) => x + y, 0),
    },
    idleA: median(rounds.map((r) => r.idle.aCores)),
    ll: {
      p50: median(ll.map((r) => r.p50)),
      p50s: ll.map((r) => r.p50),
      p95: median(ll.map((r) => r.p95)),
      parts: ll.map((r) => r.parts),
      errors: ll.reduce((n, r) => n + r.errors, 0),
    },
  };
  const host = machine();
  const s = summary;
  console.log(
    `\nThe internal hop, ${VIEWERS} simulated HLS viewers of one stream on A, ${SECONDS} s each, ${ROUNDS} alternating rounds (median, range), ${new Date().toISOString()}, ${host}, Redis ${redis.version}\n` +
      `  straight to A:  request p50 ${s.direct.p50.toFixed(1)} ms, p99 ${s.direct.p99.toFixed(0)} ms (${range(s.direct.p99s)}), A ${s.direct.aCores.toFixed(2)} cores (${range(s.direct.aCoresAll)}), errors ${s.direct.errors}\n` +
      `  through B:      request p50 ${s.hop.p50.toFixed(1)} ms, p99 ${s.hop.p99.toFixed(0)} ms (${range(s.hop.p99s)}), A (the owner) ${s.hop.aCores.toFixed(2)} cores (${range(s.hop.aCoresAll)}), B ${s.hop.bCores.toFixed(2)} cores (${range(s.hop.bCoresAll)}), errors ${s.hop.errors}\n` +
      `  A with no viewers (publisher and packager): ${s.idleA.toFixed(3)} cores\n` +
      `  LL-HLS, ${LL_VIEWERS} players on A and ${LL_VIEWERS} on B at once: a part in hand on B later than on A by p50 ${s.ll.p50.toFixed(0)} ms (rounds ${s.ll.p50s.map((v) => v.toFixed(0)).join(', ')}), p95 ${s.ll.p95.toFixed(0)} ms, over ${s.ll.parts.join('/')} parts, errors ${s.ll.errors}\n`,
  );
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'cluster-hop.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: host,
        redis: redis.version,
        viewers: VIEWERS,
        seconds: SECONDS,
        llViewers: LL_VIEWERS,
        rounds,
        ll,
        summary,
      },
      null,
      2,
    ),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
