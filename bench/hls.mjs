#!/usr/bin/env node
// HLS benchmarks, Stagedoor and nginx measured in the same run on the same machine:
//  1. publish → first playable master playlist (Stagedoor) vs first playlist (nginx-rtmp HLS), 1 s fragments;
//  2. serving a live media playlist (6 segments) and one 200 KB segment under wrk -c50: Stagedoor with a
//     viewer's passes (secured: the playlist rewritten for the viewer), Stagedoor on an open stream
//     (security off), nginx serving the same files statically;
//  3. CPU of a 720p/480p/360p ladder: one FFmpeg with one decode and a split, vs three FFmpeg processes.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomFillSync } from 'node:crypto';
import {
  fmt,
  freePort,
  machine,
  makeSample,
  nginxMissing,
  publishCopy,
  signer,
  sleep,
  startNginx,
  startStagedoor,
  stats,
  wrk,
} from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const WRK_SECONDS = Number(process.env.BENCH_WRK_SECONDS ?? 10);
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sd-bench-hls-'));
const secret = randomBytes(32).toString('hex');
const mint = signer(secret, 'bench');

async function firstPlaylistMs(file, rtmpUrl, playlistUrl) {
  const publisher = publishCopy(file, rtmpUrl);
  try {
    for (;;) {
      const elapsed = performance.now() - publisher.startedAt;
      if (elapsed > 20_000) throw new Error(`no playlist at ${playlistUrl}`);
      try {
        const res = await fetch(playlistUrl);
        const text = await res.text();
        if (res.status === 200 && text.includes('#EXTM3U'))
          return performance.now() - publisher.startedAt;
      } catch {
        /* not up yet */
      }
      await sleep(20);
    }
  } finally {
    publisher.stop();
    await publisher.exited;
  }
}

async function stagedoorFirstPlaylist(file, stagedoor, ports) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const name = `first${i}`;
    const pub = await mint({
      sub: `live/${name}`,
      scope: 'publish',
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    const play = await mint({
      sub: `live/${name}`,
      scope: 'play',
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    times.push(
      await firstPlaylistMs(
        file,
        `rtmp://127.0.0.1:${ports.rtmp.port}/live/${name}?token=${pub}`,
        `http://127.0.0.1:${ports.http.port}/live/${name}/index.m3u8?token=${play}`,
      ),
    );
    await sleep(300);
  }
  return stats(times);
}

async function nginxFirstPlaylist(file) {
  const missing = nginxMissing({ rtmp: true });
  if (missing) return { skipped: missing };
  const dir = join(work, 'nginx-hls');
  mkdirSync(join(dir, 'hls'), { recursive: true });
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  const stop = await startNginx(
    dir,
    `master_process off;
events { worker_connections 256; }
rtmp { server { listen 127.0.0.1:${rtmpPort}; application live { live on; hls on; hls_path ${dir}/hls; hls_fragment 1s; hls_playlist_length 6s; hls_cleanup on; } } }
http { access_log off; server { listen 127.0.0.1:${httpPort}; location /hls/ { root ${dir}; } } }`,
    rtmpPort,
  );
  try {
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      times.push(
        await firstPlaylistMs(
          file,
          `rtmp://127.0.0.1:${rtmpPort}/live/first${i}`,
          `http://127.0.0.1:${httpPort}/hls/first${i}.m3u8`,
        ),
      );
      await sleep(300);
    }
    return stats(times);
  } finally {
    await stop();
  }
}

async function segmentServing(stagedoor, ports, mediaDir) {
  const segment = Buffer.alloc(200 * 1024);
  randomFillSync(segment);
  segment[0] = 0x47;
  // What FFmpeg writes for a live copy rendition: 6 segments of 1 s, program date-times.
  const media = [
    '#EXTM3U',
    '#EXT-X-VERSION:6',
    '#EXT-X-TARGETDURATION:1',
    '#EXT-X-MEDIA-SEQUENCE:1',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    ...[1, 2, 3, 4, 5, 6].flatMap((i) => [
      `#EXT-X-PROGRAM-DATE-TIME:2026-11-29T12:00:0${i}.000+0000`,
      '#EXTINF:1.000000,',
      `seg_0000${i}.ts`,
    ]),
    '',
  ].join('\n');
  for (const stream of ['live/bench', 'open/bench']) {
    mkdirSync(join(mediaDir, stream), { recursive: true });
    writeFileSync(join(mediaDir, stream, 'seg_00001.ts'), segment);
    writeFileSync(join(mediaDir, stream, 'copy.m3u8'), media);
    writeFileSync(
      join(mediaDir, stream, 'index.m3u8'),
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\ncopy.m3u8\n',
    );
  }
  const play = await mint({
    sub: 'live/bench',
    scope: 'play',
    exp: Math.floor(Date.now() / 1000) + 3600,
  });
  const base = `http://127.0.0.1:${ports.http.port}/live/bench`;
  const master = await (await fetch(`${base}/index.m3u8?token=${play}`)).text();
  const variantUri = master.split('\n').find((l) => l.startsWith('copy.m3u8?vs='));
  const playlist = await (await fetch(`${base}/${variantUri}`)).text();
  const segmentUri = playlist.split('\n').find((l) => l.startsWith('seg_00001.ts?vs='));
  const results = {};
  await sleep(3000); // the first-playlist runs' FFmpegs and files are gone before measuring
  results.playlistSecured = await wrk(`${base}/${variantUri}`, { seconds: WRK_SECONDS });
  results.playlistOpen = await wrk(`http://127.0.0.1:${ports.http.port}/open/bench/copy.m3u8`, {
    seconds: WRK_SECONDS,
  });
  results.stagedoorSecured = await wrk(
    `http://127.0.0.1:${ports.http.port}/live/bench/${segmentUri}`,
    { seconds: WRK_SECONDS },
  );
  results.stagedoorOpen = await wrk(`http://127.0.0.1:${ports.http.port}/open/bench/seg_00001.ts`, {
    seconds: WRK_SECONDS,
  });
  const missing = nginxMissing();
  if (missing) {
    results.nginxStatic = { skipped: missing };
    results.nginxPlaylist = { skipped: missing };
  } else {
    const port = await freePort();
    const stop = await startNginx(
      join(work, 'nginx-static'),
      `worker_processes 1; user root;
events { worker_connections 1024; }
http { access_log off; sendfile on; server { listen 127.0.0.1:${port}; root ${mediaDir}; } }`,
      port,
    );
    try {
      results.nginxStatic = await wrk(`http://127.0.0.1:${port}/live/bench/seg_00001.ts`, {
        seconds: WRK_SECONDS,
      });
      results.nginxPlaylist = await wrk(`http://127.0.0.1:${port}/live/bench/copy.m3u8`, {
        seconds: WRK_SECONDS,
      });
    } finally {
      await stop();
    }
  }
  return results;
}

function ffmpegCpuSeconds(args) {
  const result = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-benchmark', ...args], {
    encoding: 'utf8',
  });
  const m = /bench: utime=([\d.]+)s stime=([\d.]+)s rtime=([\d.]+)s/.exec(result.stderr);
  if (!m) throw new Error(`ffmpeg -benchmark printed nothing:\n${result.stderr.slice(-2000)}`);
  return { cpu: Number(m[1]) + Number(m[2]), wall: Number(m[3]) };
}

function ladderCpu(file) {
  const rungs = [
    [720, 2800],
    [480, 1200],
    [360, 700],
  ];
  const encode = (i, height, kbps) => [
    `-c:v:${i}`,
    'libx264',
    `-preset:v:${i}`,
    'veryfast',
    `-b:v:${i}`,
    `${kbps}k`,
    `-force_key_frames:v:${i}`,
    'expr:gte(t,n_forced*1)',
  ];
  const split = `[0:v]split=3[a][b][c];[a]scale=-2:720[v0];[b]scale=-2:480[v1];[c]scale=-2:360[v2]`;
  const one = ffmpegCpuSeconds([
    '-i',
    file,
    '-filter_complex',
    split,
    ...rungs.flatMap(([h, k], i) => ['-map', `[v${i}]`, ...encode(i, h, k)]),
    '-an',
    '-f',
    'null',
    '-',
  ]);
  const three = rungs.map(([h, k]) =>
    ffmpegCpuSeconds([
      '-i',
      file,
      '-vf',
      `scale=-2:${h}`,
      ...encode(0, h, k),
      '-an',
      '-f',
      'null',
      '-',
    ]),
  );
  const threeCpu = three.reduce((sum, r) => sum + r.cpu, 0);
  return { oneProcessCpuSec: one.cpu, threeProcessesCpuSec: threeCpu, ratio: one.cpu / threeCpu };
}

async function main() {
  const file = makeSample(work, 20);
  const { stagedoor, ports, mediaDir } = await startStagedoor(work, secret, {
    hls: { renditions: [{ name: 'copy', copy: true }], segmentSec: 1, cleanupAfterSec: 1 },
    streams: [{ match: 'open/*', play: 'open' }],
  });
  const results = {};
  try {
    results.firstPlaylistStagedoor = await stagedoorFirstPlaylist(file, stagedoor, ports);
    Object.assign(results, await segmentServing(stagedoor, ports, mediaDir));
  } finally {
    await stagedoor.stop();
  }
  results.firstPlaylistNginx = await nginxFirstPlaylist(file);
  results.ladder = ladderCpu(makeSample(work, 10));

  const host = machine();
  const ratio = (a, b) => (a && b && !b.skipped ? (a / b).toFixed(2) : 'n/a');
  const rps = (r) =>
    r.skipped
      ? `skipped: ${r.skipped}`
      : `${r.rps.toFixed(0)} req/s, p50 ${r.p50?.toFixed(2)} ms, p99 ${r.p99?.toFixed(2)} ms, non-2xx ${r.non2xx}`;
  console.log(`\nHLS benchmark, ${new Date().toISOString()}, ${host}\n`);
  console.log(
    `  Publish → first playlist, Stagedoor (master, secured): ${fmt(results.firstPlaylistStagedoor)}`,
  );
  console.log(
    `  Publish → first playlist, nginx-rtmp HLS:             ${fmt(results.firstPlaylistNginx)}`,
  );
  console.log(
    `  Ratio Stagedoor / nginx-rtmp (median):                ${ratio(results.firstPlaylistStagedoor.median, results.firstPlaylistNginx.median)}  (goal ≤ 1.0)`,
  );
  console.log(
    `  Media playlist, wrk -c50 ${WRK_SECONDS}s, Stagedoor secured (pass): ${rps(results.playlistSecured)}`,
  );
  console.log(
    `  Media playlist, Stagedoor open stream (no auth):      ${rps(results.playlistOpen)}`,
  );
  console.log(
    `  Media playlist, nginx static (1 worker):              ${rps(results.nginxPlaylist)}`,
  );
  console.log(
    `  Ratio secured Stagedoor / nginx (req/s):              ${ratio(results.playlistSecured.rps, results.nginxPlaylist.rps)}  (goal ≥ 0.5, stretch 0.8)`,
  );
  console.log(
    `  200 KB segment, wrk -c50 ${WRK_SECONDS}s, Stagedoor secured (pass): ${rps(results.stagedoorSecured)}`,
  );
  console.log(
    `  200 KB segment, Stagedoor open stream (no auth):      ${rps(results.stagedoorOpen)}`,
  );
  console.log(
    `  200 KB segment, nginx static (1 worker):              ${rps(results.nginxStatic)}`,
  );
  console.log(
    `  Ratio secured Stagedoor / nginx (req/s):              ${ratio(results.stagedoorSecured.rps, results.nginxStatic.rps)}  (goal ≥ 0.9)`,
  );
  console.log(
    `  Ratio secured / open Stagedoor (cost of security):    ${ratio(results.stagedoorSecured.rps, results.stagedoorOpen.rps)}`,
  );
  console.log(
    `  Ladder 720/480/360 CPU, one process (one decode):     ${results.ladder.oneProcessCpuSec.toFixed(1)} s`,
  );
  console.log(
    `  Ladder 720/480/360 CPU, three processes:              ${results.ladder.threeProcessesCpuSec.toFixed(1)} s  (ratio ${results.ladder.ratio.toFixed(2)})\n`,
  );
  const out = join(here, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'hls.json'),
    JSON.stringify(
      { date: new Date().toISOString(), machine: host, runs: RUNS, ...results },
      null,
      2,
    ),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
