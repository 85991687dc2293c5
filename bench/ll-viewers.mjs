#!/usr/bin/env node
// Simulated LL-HLS viewers (blocking reloads + parts, two load-generator processes) of one
// passthrough stream from the packager, at BENCH_VIEWERS (default 100,1000): how long after a part
// came to exist each viewer had it (p50/p99), errors, and Stagedoor's CPU. A part "comes to exist"
// at the earliest moment any viewer's blocking reload announcing it was answered.
// BENCH_ACCEPT_ENCODING=br (or gzip): the viewers ask for compressed playlists, as browsers do.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { machine, makeSample, publishCopy, signer, sleep, startStagedoor } from './lib.mjs';

const LEVELS = (process.env.BENCH_VIEWERS ?? '100,1000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const LOADERS = 2;
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sd-bench-llv-'));
const secret = randomBytes(32).toString('hex');
const mint = signer(secret, 'bench');

function loader(port, viewers) {
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('ll-viewer-load.mjs', import.meta.url)),
      String(port),
      'live/ll',
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

const percentile = (sorted, q) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;

async function level(port, viewers) {
  const shares = Array.from(
    { length: LOADERS },
    (_, i) => Math.floor(viewers / LOADERS) + (i < viewers % LOADERS ? 1 : 0),
  );
  const cpuBefore = process.cpuUsage();
  const parts = await Promise.all(shares.map((n) => loader(port, n)));
  const cpu = process.cpuUsage(cpuBefore);
  const announced = {};
  for (const p of parts)
    for (const [name, at] of Object.entries(p.announced))
      if (!(name in announced) || announced[name] > at) announced[name] = at;
  const after = [];
  for (const p of parts)
    for (const [name, times] of Object.entries(p.delivered))
      for (const at of times) after.push(at - announced[name]);
  after.sort((a, b) => a - b);
  return {
    viewers,
    requests: parts.reduce((n, p) => n + p.requests, 0),
    errors: parts.reduce((n, p) => n + p.errors, 0),
    partsDelivered: after.length,
    partsPerViewerPerSec: after.length / viewers / SECONDS,
    p50: percentile(after, 0.5),
    p99: percentile(after, 0.99),
    serverCores: (cpu.user + cpu.system) / 1e6 / SECONDS,
  };
}

async function main() {
  const file = makeSample(work, 120);
  const { stagedoor, ports } = await startStagedoor(work, secret, {
    hls: { renditions: [{ name: 'copy', copy: true }], segmentSec: 1 },
    auth: { keys: [{ kid: 'bench', alg: 'HS256', secret }], cacheMaxEntries: 20_000 },
  });
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const publisher = publishCopy(
    file,
    `rtmp://127.0.0.1:${ports.rtmp.port}/live/ll?token=${await mint({ sub: 'live/ll', scope: 'publish', exp })}`,
  );
  const results = [];
  try {
    await sleep(4000);
    for (const viewers of LEVELS) {
      results.push(await level(ports.http.port, viewers));
      await sleep(2000);
    }
  } finally {
    publisher.stop();
    await publisher.exited;
    await stagedoor.stop();
  }
  const host = machine();
  console.log(
    `\nSimulated LL-HLS viewers (${SECONDS} s each, blocking reload + part, a token per viewer, ${LOADERS} load processes on the same cores, Accept-Encoding: ${process.env.BENCH_ACCEPT_ENCODING || 'none'}), ${new Date().toISOString()}, ${host}\n`,
  );
  for (const r of results)
    console.log(
      `  ${String(r.viewers).padStart(5)} viewers: part in hand after it existed p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms; ${r.partsPerViewerPerSec.toFixed(2)} parts/viewer/s, ${(r.requests / SECONDS).toFixed(0)} req/s, errors ${r.errors}, server ${r.serverCores.toFixed(2)} cores`,
    );
  console.log('');
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'll-viewers.json'),
    JSON.stringify(
      { date: new Date().toISOString(), machine: host, seconds: SECONDS, results },
      null,
      2,
    ),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
