#!/usr/bin/env node
// Concurrency: N passthrough publishers (-c copy, the copy rendition) on this machine, N doubling
// until segments fall behind real time; CPU and memory (PSS) per publisher for Stagedoor (itself plus its
// FFmpeg processes) and for nginx-rtmp's HLS, measured the same way in the same run. The ffmpeg
// publishers are the load generator and are not counted.
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import {
  freePort,
  machine,
  makeSample,
  nginxMissing,
  publishCopy,
  signer,
  sleep,
  startNginx,
  startStagedoor,
} from './lib.mjs';

const LEVELS = (process.env.BENCH_LEVELS ?? '1,4,16,32,64').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sd-bench-conc-'));
const secret = randomBytes(32).toString('hex');
const mint = signer(secret, 'bench');
const TICK = 100;

/** CPU seconds and proportional memory (PSS: shared library pages split among their users). */
function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pss =
      Number(
        /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0,
      ) * 1024;
    return { cpu: (Number(f[11]) + Number(f[12])) / TICK, rss: pss };
  } catch {
    return { cpu: 0, rss: 0 };
  }
}

function childPids(parent) {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return (
          readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(parent)
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Media seconds listed in a playlist so far: media sequence + segments, each ~1 s. */
function mediaSeconds(playlist) {
  if (!existsSync(playlist)) return 0;
  const text = readFileSync(playlist, 'utf8');
  const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  const durations = [...text.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
  return sequence + durations.reduce((a, b) => a + b, 0);
}

async function runLevel(n, file, urlFor, playlistFor, measure) {
  const publishers = [];
  for (let i = 0; i < n; i++) publishers.push(publishCopy(file, await urlFor(i)));
  await sleep(3000); // warm-up: connections, first segments
  const start = measure();
  const startMedia = Array.from({ length: n }, (_, i) => mediaSeconds(playlistFor(i)));
  await sleep(SECONDS * 1000);
  const end = measure();
  const produced = Array.from(
    { length: n },
    (_, i) => mediaSeconds(playlistFor(i)) - startMedia[i],
  );
  for (const p of publishers) p.stop();
  await Promise.all(publishers.map((p) => p.exited));
  await sleep(1500);
  const cores = (end.cpu - start.cpu) / SECONDS;
  const worst = Math.min(...produced) / SECONDS; // media seconds per wall second, slowest stream
  return {
    n,
    coresTotal: cores,
    coresPerPublisher: cores / n,
    rssMiB: end.rss / 2 ** 20,
    rssPerPublisherMiB: end.rss / 2 ** 20 / n,
    slowestStreamRealtime: worst,
    keptUp: worst >= 0.9,
  };
}

async function stagedoorLevels(file) {
  const { stagedoor, ports, mediaDir } = await startStagedoor(work, secret, {
    hls: { renditions: [{ name: 'copy', copy: true }], cleanupAfterSec: 1 },
  });
  const measure = () => {
    const own = process.cpuUsage();
    let cpu = (own.user + own.system) / 1e6;
    let rss = procStat(process.pid).rss;
    for (const pid of childPids(process.pid)) {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(mediaDir)) continue; // transcoders only, not the publishers
      const s = procStat(pid);
      cpu += s.cpu;
      rss += s.rss;
    }
    return { cpu, rss };
  };
  const results = [];
  try {
    for (const n of LEVELS) {
      const r = await runLevel(
        n,
        file,
        async (i) =>
          `rtmp://127.0.0.1:${ports.rtmp.port}/live/c${n}_${i}?token=${await mint({ sub: `live/c${n}_${i}`, scope: 'publish', exp: Math.floor(Date.now() / 1000) + 600 })}`,
        (i) => join(mediaDir, 'live', `c${n}_${i}`, 'copy.m3u8'),
        measure,
      );
      results.push(r);
      if (!r.keptUp) break;
    }
  } finally {
    await stagedoor.stop();
  }
  return results;
}

async function nginxLevels(file) {
  const missing = nginxMissing({ rtmp: true });
  if (missing) return { skipped: missing };
  const dir = join(work, 'nginx');
  mkdirSync(join(dir, 'hls'), { recursive: true });
  const port = await freePort();
  const stop = await startNginx(
    dir,
    `master_process off; worker_processes 1;
events { worker_connections 1024; }
rtmp { server { listen 127.0.0.1:${port}; application live { live on; hls on; hls_path ${dir}/hls; hls_fragment 1s; hls_playlist_length 6s; hls_cleanup on; } } }`,
    port,
  );
  const nginxPid = Number(readFileSync(join(dir, 'nginx.pid'), 'utf8').trim());
  const measure = () => procStat(nginxPid);
  const results = [];
  try {
    for (const n of LEVELS) {
      const r = await runLevel(
        n,
        file,
        async (i) => `rtmp://127.0.0.1:${port}/live/c${n}_${i}`,
        (i) => join(dir, 'hls', `c${n}_${i}.m3u8`),
        measure,
      );
      results.push(r);
      if (!r.keptUp) break;
    }
  } finally {
    await stop();
  }
  return results;
}

async function main() {
  const file = makeSample(work, 30);
  const stagedoor = await stagedoorLevels(file);
  const nginx = await nginxLevels(file);
  const host = machine();
  console.log(
    `\nConcurrency (passthrough publishers, ${SECONDS} s per level), ${new Date().toISOString()}, ${host}\n`,
  );
  const row = (r) =>
    `N=${String(r.n).padStart(2)}  ${r.coresTotal.toFixed(3)} cores (${(r.coresPerPublisher * 1000).toFixed(1)} mcores/publisher)  PSS ${r.rssMiB.toFixed(0)} MiB (${r.rssPerPublisherMiB.toFixed(1)}/publisher)  slowest stream ${(r.slowestStreamRealtime * 100).toFixed(0)}% of real time${r.keptUp ? '' : '  ← fell behind'}`;
  console.log('  Stagedoor (Node + one FFmpeg per stream):');
  for (const r of stagedoor) console.log(`    ${row(r)}`);
  console.log('  nginx-rtmp HLS (one worker):');
  if (nginx.skipped) console.log(`    skipped: ${nginx.skipped}`);
  else for (const r of nginx) console.log(`    ${row(r)}`);
  console.log('');
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'concurrency.json'),
    JSON.stringify(
      { date: new Date().toISOString(), machine: host, seconds: SECONDS, stagedoor, nginx },
      null,
      2,
    ),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
