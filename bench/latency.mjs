#!/usr/bin/env node
// Glass-to-glass latency, stock hls.js (`lowLatencyMode` on, its default) in Chromium, 1 s segments:
// Stagedoor LL-HLS (the packager), Stagedoor regular HLS (FFmpeg's files) and nginx-rtmp, in
// alternating rounds (BENCH_ROUNDS, default 3), BENCH_SECONDS of playing each.
// The publisher is a picture made here: every frame carries the wall-clock time it was made as a
// 32-bit barcode (blocks of black and white), encoded live by libx264 (zerolatency) and sent over
// RTMP. The page draws each frame the video presents onto a canvas, reads the barcode back and
// records now − then: capture, encoding, ingest, packaging, delivery, buffering and decoding.
// Stalls (the video waiting for data after it started) are counted too.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';
import {
  freePort,
  machine,
  nginxMissing,
  signer,
  sleep,
  startNginx,
  startStagedoor,
  stats,
} from './lib.mjs';

const PLAY_SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sd-bench-lat-'));
const secret = randomBytes(32).toString('hex');
const mint = signer(secret, 'bench');
const hlsJs = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));

const WIDTH = 640;
const HEIGHT = 360;
const FPS = 30;
/** The barcode: 32 blocks of BLOCK×BLOCK pixels, two rows of 16, most significant bit first. */
const BLOCK = 40;

/** A gray frame whose barcode says `stamp` (Date.now() modulo 2^32). */
function frameFor(stamp) {
  const frame = Buffer.alloc(WIDTH * HEIGHT, 128);
  for (let bit = 0; bit < 32; bit++) {
    const on = (stamp >>> (31 - bit)) & 1;
    const x0 = (bit % 16) * BLOCK;
    const y0 = Math.floor(bit / 16) * BLOCK;
    for (let y = y0; y < y0 + BLOCK; y++)
      frame.fill(on ? 235 : 16, y * WIDTH + x0, y * WIDTH + x0 + BLOCK);
  }
  return frame;
}

/**
 * A live publisher: frames made now, paced at FPS, encoded by libx264 (1 s GOP, zerolatency) with
 * a tone, sent to `url` as RTMP.
 */
function publishClock(url) {
  const child = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-nostdin']
      .concat(['-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${WIDTH}x${HEIGHT}`, '-r', String(FPS)])
      .concat(['-i', 'pipe:0', '-f', 'lavfi', '-i', 'sine'])
      .concat([
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-tune',
        'zerolatency',
        '-g',
        String(FPS),
      ])
      .concat(['-pix_fmt', 'yuv420p', '-b:v', '800k', '-c:a', 'aac', '-f', 'flv', url]),
    { stdio: ['pipe', 'ignore', 'ignore'] },
  );
  child.stdin.on('error', () => {});
  const startedAt = Date.now();
  let sent = 0;
  const timer = setInterval(
    () => {
      // As many frames as the wall clock says are due: the stream stays real time.
      const due = Math.floor(((Date.now() - startedAt) * FPS) / 1000);
      while (sent < due && child.stdin.writable) {
        child.stdin.write(frameFor(Date.now() % 2 ** 32));
        sent++;
      }
    },
    1000 / FPS / 2,
  );
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    exited,
    stop: () => {
      clearInterval(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * A page on 127.0.0.1 that plays `src` with stock hls.js, reads each presented frame's barcode and
 * keeps now − stamp; counts stalls after the first frame.
 */
async function pageServer() {
  const server = createServer((req, res) => {
    if (req.url === '/hls.js')
      return res.writeHead(200, { 'content-type': 'text/javascript' }).end(hlsJs);
    res.writeHead(200, { 'content-type': 'text/html' })
      .end(`<!doctype html><video id=v muted></video><canvas id=c width=${WIDTH} height=${BLOCK * 2}></canvas>
      <script src="/hls.js"></script><script>
      const src = decodeURIComponent(location.hash.slice(1));
      const hls = new Hls(); hls.loadSource(src); hls.attachMedia(v);
      hls.on(Hls.Events.MANIFEST_PARSED, () => v.play());
      const ctx = c.getContext('2d', { willReadFrequently: true });
      window.samples = []; window.stalls = 0; window.behind = [];
      let started = false;
      v.addEventListener('waiting', () => { if (started) stalls++; });
      const onFrame = () => {
        const now = Date.now();
        ctx.drawImage(v, 0, 0, ${WIDTH}, ${HEIGHT}, 0, 0, ${WIDTH}, ${HEIGHT});
        const px = ctx.getImageData(0, 0, ${WIDTH}, ${BLOCK * 2}).data;
        let stamp = 0;
        for (let bit = 0; bit < 32; bit++) {
          const x = (bit % 16) * ${BLOCK} + ${BLOCK / 2}, y = Math.floor(bit / 16) * ${BLOCK} + ${BLOCK / 2};
          stamp = stamp * 2 + (px[(y * ${WIDTH} + x) * 4] > 128 ? 1 : 0);
        }
        const lag = (now % 2 ** 32) - stamp;
        if (lag >= 0 && lag < 60000) { samples.push(lag); started = true; }
        if (typeof hls.latency === 'number' && hls.latency > 0) behind.push(hls.latency);
        v.requestVideoFrameCallback(onFrame);
      };
      v.requestVideoFrameCallback(onFrame);
    </script>`);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

async function measure(browser, rtmpUrl, playUrl) {
  const pages = await pageServer();
  const publisher = publishClock(rtmpUrl);
  try {
    await sleep(4000);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${pages.address().port}/#${encodeURIComponent(playUrl)}`);
    // The first seconds are the player finding its place: only the steady state counts.
    await sleep(5000);
    await page.evaluate(() => {
      window.samples.length = 0;
      window.behind.length = 0;
      window.stalls = 0;
    });
    await sleep(PLAY_SECONDS * 1000);
    const { samples, stalls, behind } = await page.evaluate(() => ({
      samples: window.samples,
      stalls: window.stalls,
      behind: window.behind,
    }));
    await page.close();
    if (samples.length < PLAY_SECONDS * 10)
      throw new Error(`the player showed ${samples.length} frames`);
    return {
      ...stats(samples),
      frames: samples.length,
      stalls,
      playerBehindEdgeSec: behind.length ? behind.reduce((a, b) => a + b, 0) / behind.length : NaN,
    };
  } finally {
    publisher.stop();
    await publisher.exited;
    pages.close();
  }
}

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];

/** Over the runs: the median of their medians, its range, p95 and how far hls.js sat behind. */
function summary(runs) {
  const medians = runs.map((r) => r.median);
  return {
    runs: runs.length,
    median: median(medians),
    range: `${(Math.min(...medians) / 1000).toFixed(2)}–${(Math.max(...medians) / 1000).toFixed(2)} s`,
    p95: median(runs.map((r) => r.p95)),
    behind: median(runs.map((r) => r.playerBehindEdgeSec)),
    stalls: runs.map((r) => r.stalls),
  };
}

/** One run against Stagedoor: its packager (LL-HLS) or FFmpeg (regular HLS). */
async function stagedoorRun(browser, packager, round) {
  const { stagedoor, ports } = await startStagedoor(join(work, `sd-${packager}-${round}`), secret, {
    hls: {
      renditions: [{ name: 'copy', copy: true }],
      segmentSec: 1,
      packager: { enabled: packager },
    },
  });
  try {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const play = await mint({ sub: 'live/lat', scope: 'play', exp });
    const base = `http://127.0.0.1:${ports.http.port}/live/lat`;
    return await measure(
      browser,
      `rtmp://127.0.0.1:${ports.rtmp.port}/live/lat?token=${await mint({ sub: 'live/lat', scope: 'publish', exp })}`,
      `${base}/index.m3u8?token=${play}`,
    );
  } finally {
    await stagedoor.stop();
  }
}

async function nginxRun(browser) {
  const missing = nginxMissing({ rtmp: true });
  if (missing) return { skipped: missing };
  const dir = mkdtempSync(join(work, 'nginx-'));
  mkdirSync(join(dir, 'hls'), { recursive: true });
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  const stop = await startNginx(
    dir,
    `master_process off; user root;
events { worker_connections 256; }
rtmp { server { listen 127.0.0.1:${rtmpPort}; application live { live on; hls on; hls_path ${dir}/hls; hls_fragment 1s; hls_playlist_length 6s; } } }
http { access_log off; server { listen 127.0.0.1:${httpPort}; location /hls/ { root ${dir}; add_header Access-Control-Allow-Origin *; add_header Cache-Control no-cache; types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; } } } }`,
    rtmpPort,
  );
  try {
    return await measure(
      browser,
      `rtmp://127.0.0.1:${rtmpPort}/live/lat`,
      `http://127.0.0.1:${httpPort}/hls/lat.m3u8`,
    );
  } finally {
    await stop();
  }
}

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const runs = { packager: [], ffmpeg: [], nginx: [] };
  let skipped;
  try {
    // Alternating runs: Stagedoor LL-HLS (packager), nginx-rtmp, Stagedoor regular HLS (FFmpeg), …
    for (let round = 0; round < rounds; round++) {
      runs.packager.push(await stagedoorRun(browser, true, round));
      const nginx = await nginxRun(browser);
      if (nginx.skipped) skipped = nginx.skipped;
      else runs.nginx.push(nginx);
      runs.ffmpeg.push(await stagedoorRun(browser, false, round));
    }
  } finally {
    await browser.close();
  }
  const results = {
    packager: summary(runs.packager),
    ffmpeg: summary(runs.ffmpeg),
    nginx: skipped ? { skipped } : summary(runs.nginx),
  };
  const host = machine();
  const line = (r) =>
    r.skipped
      ? `skipped: ${r.skipped}`
      : `median of ${r.runs} run medians ${(r.median / 1000).toFixed(2)} s (${r.range}), p95 ${(r.p95 / 1000).toFixed(2)} s (hls.js sits ${r.behind.toFixed(2)} s behind the live edge), stalls per run ${r.stalls.join('/')}`;
  console.log(
    `\nGlass-to-glass latency (barcoded wall clock read back from the picture), stock hls.js, 1 s segments, ${PLAY_SECONDS} s per run, ${new Date().toISOString()}, ${host}\n`,
  );
  console.log(`  Stagedoor LL-HLS (packager, secured): ${line(results.packager)}`);
  console.log(`  Stagedoor HLS (FFmpeg, secured):      ${line(results.ffmpeg)}`);
  console.log(`  nginx-rtmp HLS:                       ${line(results.nginx)}`);
  if (!results.nginx.skipped)
    console.log(
      `  Ratio LL-HLS / nginx-rtmp (median):   ${(results.packager.median / results.nginx.median).toFixed(2)}`,
    );
  console.log('');
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'latency.json'),
    JSON.stringify({ date: new Date().toISOString(), machine: host, results, runs }, null, 2),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
