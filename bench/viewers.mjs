#!/usr/bin/env node
// Simulated HLS viewers (a separate load-generator process) at 100, 1,000 and 5,000 against one
// live stream with a valid token each: request latency p50/p99, errors, Stagedoor's RSS and CPU.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { machine, playerLoad, publishPattern, signer, sleep, startStagedoor } from './lib.mjs';

const LEVELS = (process.env.BENCH_VIEWERS ?? '100,1000,5000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sd-bench-view-'));
const secret = randomBytes(32).toString('hex');
const mint = signer(secret, 'bench');

async function main() {
  const { stagedoor, ports } = await startStagedoor(work, secret, {
    hls: { renditions: [{ name: 'copy', copy: true }] },
    auth: { keys: [{ kid: 'bench', alg: 'HS256', secret }], cacheMaxEntries: 20_000 },
  });
  const token = await mint({
    sub: 'live/show',
    scope: 'publish',
    exp: Math.floor(Date.now() / 1000) + 3600,
  });
  const publisher = publishPattern(`rtmp://127.0.0.1:${ports.rtmp.port}/live/show?token=${token}`);
  const results = [];
  try {
    await sleep(4000);
    for (const viewers of LEVELS) {
      const cpuBefore = process.cpuUsage();
      const result = await playerLoad(ports.http.port, 'live/show', viewers, {
        seconds: SECONDS,
        secret,
      });
      const cpu = process.cpuUsage(cpuBefore);
      results.push({
        ...result,
        serverCores: (cpu.user + cpu.system) / 1e6 / SECONDS,
        serverRssMiB: process.memoryUsage().rss / 2 ** 20,
        hlsSessions: stagedoor.registry.list().filter((s) => s.protocol === 'hls').length,
      });
      await sleep(2000);
    }
  } finally {
    publisher.kill('SIGKILL');
    await stagedoor.stop();
  }
  const host = machine();
  console.log(
    `\nSimulated HLS viewers (${SECONDS} s each, one 400 kb/s stream, a token per viewer), ${new Date().toISOString()}, ${host}\n`,
  );
  for (const r of results) {
    console.log(
      `  ${String(r.viewers).padStart(5)} viewers: ${(r.requests / SECONDS).toFixed(0)} req/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, errors ${r.errors}, server ${r.serverCores.toFixed(2)} cores, RSS ${r.serverRssMiB.toFixed(0)} MiB, ${r.hlsSessions} HLS sessions`,
    );
  }
  console.log('');
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'viewers.json'),
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
