#!/usr/bin/env node
// Viewers through the repo's nginx edge (deploy/nginx-edge) vs straight to the origin, in one run:
// simulated players (separate load processes; each polls its media playlist every second and fetches
// each new segment once, with its own token) against one live stream. Reports requests and CPU at the
// origin per 1,000 viewer-seconds, the edge's cache hit ratio, p50/p99 and errors, and the most
// viewers this machine holds through the edge with p99 under 100 ms and no error.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import {
  freePort,
  machine,
  nginxMissing,
  playerLoad,
  publishPattern,
  signer,
  sleep,
  startNginx,
  startStagedoor,
} from './lib.mjs';
import { renderEdgeConfig, renderEdgeKeys } from '../deploy/nginx-edge/render.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const DIRECT = (process.env.BENCH_DIRECT ?? '500,1000').split(',').map(Number);
const EDGE = (process.env.BENCH_EDGE ?? '500,1000,2000,4000').split(',').map(Number);
const LOADERS = Number(process.env.BENCH_LOADERS ?? 2);
const here = dirname(fileURLToPath(import.meta.url));
const edgeFiles = join(here, '..', 'deploy', 'nginx-edge');
const work = mkdtempSync(join(tmpdir(), 'sd-bench-edge-'));
const secret = randomBytes(32).toString('hex');
const edgeKey = { kid: 'ek1', secret: randomBytes(24).toString('base64url') };
const mint = signer(secret, 'bench');

async function originRequests(stagedoor) {
  const metric = await stagedoor.metrics.hlsRequests.get();
  return metric.values.reduce((n, v) => n + v.value, 0);
}

async function measure(stagedoor, base, viewers) {
  const requestsBefore = await originRequests(stagedoor);
  const cpuBefore = process.cpuUsage();
  const result = await playerLoad(base, 'live/show', viewers, {
    seconds: SECONDS,
    secret,
    loaders: LOADERS,
  });
  const cpu = process.cpuUsage(cpuBefore);
  const viewerSeconds = (viewers * SECONDS) / 1000;
  const segments = Object.values(result.cache).reduce((n, v) => n + v, 0);
  return {
    ...result,
    originRequestsPer1000ViewerSec:
      ((await originRequests(stagedoor)) - requestsBefore) / viewerSeconds,
    originCpuSecPer1000ViewerSec: (cpu.user + cpu.system) / 1e6 / viewerSeconds,
    hitRatio: segments ? (result.cache.HIT ?? 0) / segments : undefined,
  };
}

async function main() {
  const missing = nginxMissing();
  if (missing) {
    console.log(`edge benchmark skipped: ${missing}`);
    return;
  }
  const { stagedoor, ports } = await startStagedoor(work, secret, {
    http: { host: '127.0.0.1', port: 0, trustedProxies: ['127.0.0.1'] },
    hls: { renditions: [{ name: 'copy', copy: true }], passes: { edgeKeys: [edgeKey] } },
    auth: { keys: [{ kid: 'bench', alg: 'HS256', secret }], cacheMaxEntries: 50_000 },
  });
  const dir = join(work, 'edge');
  mkdirSync(join(dir, 'cache'), { recursive: true });
  copyFileSync(join(edgeFiles, 'pass.js'), join(dir, 'pass.js'));
  copyFileSync(join(edgeFiles, 'cat.js'), join(dir, 'cat.js'));
  writeFileSync(join(dir, 'edge-keys.conf'), renderEdgeKeys([edgeKey]));
  const edgePort = await freePort();
  const conf = renderEdgeConfig({
    dir,
    origin: `127.0.0.1:${ports.http.port}`,
    listen: `127.0.0.1:${edgePort}`,
    cache: join(dir, 'cache'),
    workers: 1,
    jsModule: '/usr/lib/nginx/modules/ngx_http_js_module.so',
    prelude: 'user root;\n', // workers must write the cache directory, made by root here
  });
  const stopEdge = await startNginx(dir, conf, edgePort);
  const token = await mint({
    sub: 'live/show',
    scope: 'publish',
    exp: Math.floor(Date.now() / 1000) + 3600,
  });
  const publisher = publishPattern(`rtmp://127.0.0.1:${ports.rtmp.port}/live/show?token=${token}`);
  const direct = [];
  const edge = [];
  try {
    await sleep(5000);
    for (const viewers of DIRECT) {
      direct.push(await measure(stagedoor, `http://127.0.0.1:${ports.http.port}`, viewers));
      await sleep(2000);
    }
    for (const viewers of EDGE) {
      edge.push(await measure(stagedoor, `http://127.0.0.1:${edgePort}`, viewers));
      await sleep(2000);
    }
  } finally {
    publisher.kill('SIGKILL');
    await stopEdge();
    await stagedoor.stop();
  }
  const host = machine();
  const line = (r) =>
    `${String(r.viewers).padStart(5)} viewers: ${(r.requests / SECONDS).toFixed(0)} req/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, errors ${r.errors}; origin ${r.originRequestsPer1000ViewerSec.toFixed(0)} requests and ${r.originCpuSecPer1000ViewerSec.toFixed(3)} CPU s per 1,000 viewer-seconds${r.hitRatio === undefined ? '' : `, edge hit ratio ${(r.hitRatio * 100).toFixed(1)} %`}`;
  console.log(
    `\nViewers through the nginx edge vs straight to the origin (${SECONDS} s each, ${LOADERS} load processes, one 400 kb/s stream, 1 s segments, a token per viewer), ${new Date().toISOString()}, ${host}\n`,
  );
  console.log('  Straight to the origin:');
  for (const r of direct) console.log(`    ${line(r)}`);
  console.log('  Through one edge (1 nginx worker):');
  for (const r of edge) console.log(`    ${line(r)}`);
  const held = edge.filter((r) => r.p99 < 100 && r.errors === 0).map((r) => r.viewers);
  console.log(
    `  Most viewers through the edge with p99 < 100 ms and no error: ${held.length ? Math.max(...held) : 'none of the levels tried'}\n`,
  );
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'edge.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: host,
        seconds: SECONDS,
        loaders: LOADERS,
        direct,
        edge,
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
