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

/** A playlist file's text, if it exists yet. */
const fileText = (path) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);

/** Media seconds listed in a playlist so far: media sequence + segments, each ~1 s. */
function mediaSeconds(text) {
  if (text === undefined) return 0;
  const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  const durations = [...text.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
  return sequence + durations.reduce((a, b) => a + b, 0);
}

async function runLevel(n, file, urlFor, playlistFor, measure) {
  const publishers = [];
  for (let i = 0; i < n; i++) publishers.push(publishCopy(file, await urlFor(i)));
  await sleep(3000); // warm-up: connections, first segments
  const start = measure();
  const startMedia = await Promise.all(
    Array.from({ length: n }, async (_, i) => mediaSeconds(await playlistFor(i))),
  );
  await sleep(SECONDS * 1000);
  const end = measure();
  const produced = await Promise.all(
    Array.from({ length: n }, async (_, i) => mediaSeconds(await playlistFor(i)) - startMedia[i]),
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

/** Stagedoor with its in-process packager (`packager`: no FFmpeg), or FFmpeg packaging each stream. */
async function stagedoorLevels(file, packager) {
  const { stagedoor, ports, mediaDir } = await startStagedoor(
    join(work, packager ? 'p' : 'f'),
    secret,
    {
      hls: {
        renditions: [{ name: 'copy', copy: true }],
        cleanupAfterSec: 1,
        packager: { enabled: packager },
      },
    },
  );
  // A packaged stream's playlist is in memory: read as a viewer would (two requests per stream).
  const playlistOf = async (stream) => {
    if (!packager) return fileText(join(mediaDir, 'live', stream, 'copy.m3u8'));
    const play = await mint({
      sub: `live/${stream}`,
      scope: 'play',
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    const res = await fetch(
      `http://127.0.0.1:${ports.http.port}/live/${stream}/copy.m3u8?token=${play}`,
    );
    return res.status === 200 ? res.text() : undefined;
  };
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
        (i) => playlistOf(`c${n}_${i}`),
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
        async (i) => fileText(join(dir, 'hls', `c${n}_${i}.m3u8`)),
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

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Also measure Stagedoor with FFmpeg packaging each stream (the path before the packager). */
const WITH_FFMPEG = process.env.BENCH_FFMPEG === '1';

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
const spread = (values) => `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`;

/** Per level over the rounds: median and range of millicores per publisher and of PSS added per publisher. */
function summarise(rounds) {
  const levels = [...new Set(rounds.flat().map((r) => r.n))].sort((x, y) => x - y);
  return levels.map((n) => {
    const at = rounds.map((round) => round.find((r) => r.n === n)).filter(Boolean);
    const mcores = at.map((r) => r.coresPerPublisher * 1000);
    // PSS per publisher beyond the process with one stream: what each more stream costs.
    const added = rounds
      .map((round) => {
        const one = round.find((r) => r.n === levels[0]);
        const here = round.find((r) => r.n === n);
        return one && here && n > one.n ? (here.rssMiB - one.rssMiB) / (n - one.n) : undefined;
      })
      .filter((v) => v !== undefined);
    return {
      n,
      runs: at.length,
      mcoresMedian: median(mcores),
      mcoresRange: spread(mcores),
      addedPssMiBMedian: added.length ? median(added) : undefined,
      addedPssMiBRange: added.length ? spread(added) : undefined,
      keptUp: at.every((r) => r.keptUp),
      slowest: Math.min(...at.map((r) => r.slowestStreamRealtime)),
    };
  });
}

async function main() {
  const file = makeSample(work, 30);
  const runs = { packager: [], ffmpeg: [], nginx: [] };
  let skipped;
  // Alternating runs (ours, the peer's, ours, …): the machine's noise falls on both.
  for (let round = 0; round < ROUNDS; round++) {
    runs.packager.push(await stagedoorLevels(file, true));
    const nginx = await nginxLevels(file);
    if (nginx.skipped) skipped = nginx.skipped;
    else runs.nginx.push(nginx);
    if (WITH_FFMPEG) runs.ffmpeg.push(await stagedoorLevels(file, false));
  }
  const host = machine();
  console.log(
    `\nConcurrency (passthrough publishers, ${SECONDS} s per level, ${ROUNDS} alternating rounds), ${new Date().toISOString()}, ${host}\n`,
  );
  const row = (r) =>
    `N=${String(r.n).padStart(3)}  ${r.mcoresMedian.toFixed(1)} mcores/publisher (${r.mcoresRange})  ` +
    `PSS added ${r.addedPssMiBMedian === undefined ? '—' : `${r.addedPssMiBMedian.toFixed(2)} MiB/publisher (${r.addedPssMiBRange})`}  ` +
    `slowest stream ${(r.slowest * 100).toFixed(0)}% of real time${r.keptUp ? '' : '  ← fell behind'}`;
  const summary = {
    packager: summarise(runs.packager),
    ffmpeg: WITH_FFMPEG ? summarise(runs.ffmpeg) : undefined,
    nginx: skipped ? { skipped } : summarise(runs.nginx),
  };
  console.log('  Stagedoor, in-process packager (no FFmpeg):');
  for (const r of summary.packager) console.log(`    ${row(r)}`);
  if (summary.ffmpeg) {
    console.log('  Stagedoor, FFmpeg per stream (hls.packager.enabled false):');
    for (const r of summary.ffmpeg) console.log(`    ${row(r)}`);
  }
  console.log('  nginx-rtmp HLS (one worker):');
  if (skipped) console.log(`    skipped: ${skipped}`);
  else for (const r of summary.nginx) console.log(`    ${row(r)}`);
  console.log('');
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'concurrency.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: host,
        seconds: SECONDS,
        rounds: ROUNDS,
        summary,
        runs,
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
