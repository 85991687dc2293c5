#!/usr/bin/env node
// The CPU of a 720/480/360 libx264 ladder on one live stream: FFmpeg encoding into the in-process
// packager (one FLV pipe per rung, CMAF and LL-HLS from memory) against FFmpeg writing its own HLS
// files (`hls.packager.enabled: false`, the ladder as it was before). Stagedoor's process and its
// FFmpeg are counted; the publisher (a pre-encoded 720p clip sent with -c copy) is not. Alternating
// rounds (BENCH_ROUNDS, default 3), BENCH_SECONDS measured per round after the ladder is playing.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { machine, makeSample, publishCopy, signer, sleep, startStagedoor } from './lib.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sd-bench-ladder-'));
const secret = randomBytes(32).toString('hex');
const mint = signer(secret, 'bench');
const TICK = 100;
const RENDITIONS = [
  { name: '720p', height: 720, videoBitrateKbps: 2500, preset: 'veryfast' },
  { name: '480p', height: 480, videoBitrateKbps: 1200, preset: 'veryfast' },
  { name: '360p', height: 360, videoBitrateKbps: 700, preset: 'veryfast' },
];

function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}

/** This process's FFmpeg children that are not the publisher (the publisher sends to rtmp://). */
function encoderPids() {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const parent = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1];
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return (
          parent === String(process.pid) &&
          cmd.split('\0')[0].endsWith('ffmpeg') &&
          !cmd.includes('rtmp://')
        );
      } catch {
        return false;
      }
    });
}

/** Stagedoor's own CPU and its live encoders'. */
function cpuNow() {
  const own = process.cpuUsage();
  return {
    node: (own.user + own.system) / 1e6,
    ffmpeg: encoderPids().reduce((a, p) => a + cpuSecondsOf(p), 0),
  };
}

/** One round: publish, wait until every rung plays, then measure SECONDS of CPU. */
async function round(file, packager, i) {
  const { stagedoor, ports } = await startStagedoor(
    join(work, `${packager ? 'p' : 'f'}${i}`),
    secret,
    {
      hls: { renditions: RENDITIONS, segmentSec: 1, packager: { enabled: packager } },
    },
  );
  const exp = Math.floor(Date.now() / 1000) + 600;
  const publisher = publishCopy(
    file,
    `rtmp://127.0.0.1:${ports.rtmp.port}/live/ladder?token=${await mint({ sub: 'live/ladder', scope: 'publish', exp })}`,
  );
  const play = await mint({ sub: 'live/ladder', scope: 'play', exp });
  const base = `http://127.0.0.1:${ports.http.port}/live/ladder`;
  const segmentsOf = async (name) => {
    const res = await fetch(`${base}/${name}.m3u8?token=${play}`).catch(() => undefined);
    if (res?.status !== 200) return 0;
    return (await res.text()).split('\n').filter((l) => l.startsWith('#EXTINF')).length;
  };
  try {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const counts = await Promise.all(RENDITIONS.map((r) => segmentsOf(r.name)));
      if (counts.every((n) => n >= 2)) break;
      await sleep(200);
    }
    const pids = encoderPids();
    if (pids.length === 0) throw new Error('no encoder running');
    const before = cpuNow();
    await sleep(SECONDS * 1000);
    const after = cpuNow();
    const node = (after.node - before.node) / SECONDS;
    const ffmpeg = (after.ffmpeg - before.ffmpeg) / SECONDS;
    const counts = await Promise.all(RENDITIONS.map((r) => segmentsOf(r.name)));
    if (counts.some((n) => n < 2)) throw new Error(`a rung stopped: ${counts.join('/')}`);
    return { cores: node + ffmpeg, node, ffmpeg, encoders: pids.length };
  } finally {
    publisher.stop();
    await publisher.exited;
    await stagedoor.stop();
  }
}

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];

async function main() {
  const file = makeSample(work, 120);
  const runs = { packager: [], files: [] };
  for (let i = 0; i < ROUNDS; i++) {
    runs.packager.push(await round(file, true, i));
    runs.files.push(await round(file, false, i));
  }
  const summary = (list) => {
    const cores = list.map((r) => r.cores);
    return {
      median: median(cores),
      min: Math.min(...cores),
      max: Math.max(...cores),
      node: median(list.map((r) => r.node)),
      ffmpeg: median(list.map((r) => r.ffmpeg)),
    };
  };
  const results = { packager: summary(runs.packager), files: summary(runs.files) };
  const host = machine();
  const line = (r) =>
    `${r.median.toFixed(2)} cores (${r.min.toFixed(2)}–${r.max.toFixed(2)}): Node ${r.node.toFixed(3)}, FFmpeg ${r.ffmpeg.toFixed(3)}`;
  console.log(
    `\nLadder 720/480/360 (libx264 veryfast) of one 720p publisher, ${SECONDS} s per round, ${ROUNDS} alternating rounds, ${new Date().toISOString()}, ${host}\n`,
  );
  console.log(`  FFmpeg → packager (CMAF, LL-HLS from memory): ${line(results.packager)}`);
  console.log(`  FFmpeg → its own HLS files:                   ${line(results.files)}`);
  console.log(
    `  Ratio (medians):                              ${(results.packager.median / results.files.median).toFixed(2)}\n`,
  );
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'ladder.json'),
    JSON.stringify({ date: new Date().toISOString(), machine: host, results, runs }, null, 2),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
