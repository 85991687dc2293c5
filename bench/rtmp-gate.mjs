#!/usr/bin/env node
// Benchmark: how fast Stagedoor refuses a bad publish (ffmpeg start → ffmpeg exit), against
// nginx-rtmp refusing through an `on_publish` hook in the same run when nginx is installed.
// Publishers send a pre-encoded FLV with -c copy so that encoder CPU does not skew the timings.
import { createServer as createHttpServer } from 'node:http';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import {
  fmt,
  freePort,
  machine,
  makeSample,
  nginxMissing,
  publishCopy,
  signer,
  startNginx,
  startStagedoor,
  stats,
} from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sd-bench-'));
const secret = randomBytes(32).toString('hex');
const mint = signer(secret, 'bench');

async function refusalTimes(file, urlFor) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const { exited } = publishCopy(file, urlFor(i));
    const { code, ms } = await exited;
    if (code === 0) throw new Error('a publish that should be refused was accepted');
    times.push(ms);
  }
  return stats(times);
}

async function nginxRefusal(file) {
  const missing = nginxMissing({ rtmp: true });
  if (missing) return { skipped: missing };
  const hook = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(403).end();
  });
  await new Promise((r) => hook.listen(0, '127.0.0.1', r));
  const port = await freePort();
  const stop = await startNginx(
    join(work, 'nginx'),
    `master_process off;
events { worker_connections 256; }
rtmp { server { listen 127.0.0.1:${port}; application live { live on; on_publish http://127.0.0.1:${hook.address().port}/auth; } } }`,
    port,
  );
  try {
    return await refusalTimes(file, () => `rtmp://127.0.0.1:${port}/live/bench?token=forged`);
  } finally {
    await stop();
    hook.close();
  }
}

async function main() {
  const file = makeSample(work);
  const {
    stagedoor,
    ports: { rtmp },
  } = await startStagedoor(work, secret, { hls: { enabled: false } });
  const results = {};
  try {
    results.stagedoorRefusal = await refusalTimes(
      file,
      (i) => `rtmp://127.0.0.1:${rtmp.port}/live/bench${i}?token=forged`,
    );
  } finally {
    await stagedoor.stop();
  }
  results.nginxRefusal = await nginxRefusal(file);
  const host = machine();
  const ratio = results.nginxRefusal.median
    ? results.stagedoorRefusal.median / results.nginxRefusal.median
    : undefined;
  console.log(`\nRTMP gate benchmark, ${new Date().toISOString()}, ${host}\n`);
  console.log(`  Refusal, Stagedoor (ffmpeg start → exit):       ${fmt(results.stagedoorRefusal)}`);
  console.log(`  Refusal, nginx-rtmp on_publish 403:               ${fmt(results.nginxRefusal)}`);
  if (ratio) console.log(`  Refusal ratio Stagedoor / nginx-rtmp (median):   ${ratio.toFixed(2)}`);
  console.log(
    `  Goal: refusal no slower than nginx-rtmp → ${ratio === undefined || ratio <= 1 ? 'met' : 'NOT met'} (expiry lag: bench/expiry.mjs)\n`,
  );
  const out = join(here, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'rtmp-gate.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: host,
        runs: RUNS,
        ...results,
        refusalRatio: ratio,
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
