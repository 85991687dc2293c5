#!/usr/bin/env node
// Live-edge latency behind the publisher, hls.js defaults (lowLatencyMode on) in Chromium, 1 s
// segments: Stagedoor LL-HLS (the packager), Stagedoor regular HLS (FFmpeg) and nginx-rtmp, in
// alternating rounds (BENCH_ROUNDS, default 3).
// glass ≈ (now − publish start − media end of the newest listed segment or part) + hls.latency, where the
// first term is read by polling the playlist from Node (segment availability) and the second from
// hls.js (how far behind the live edge the player sits). Both servers are measured the same way.
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';
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
  stats,
} from './lib.mjs';

const PLAY_SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sd-bench-lat-'));
const secret = randomBytes(32).toString('hex');
const mint = signer(secret, 'bench');
const hlsJs = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));

/** A page on 127.0.0.1 that plays `src` with hls.js defaults and samples hls.latency. */
async function pageServer() {
  const server = createServer((req, res) => {
    if (req.url === '/hls.js')
      return res.writeHead(200, { 'content-type': 'text/javascript' }).end(hlsJs);
    res.writeHead(200, { 'content-type': 'text/html' })
      .end(`<!doctype html><video id=v muted></video><script src="/hls.js"></script><script>
      const src = decodeURIComponent(location.hash.slice(1));
      const hls = new Hls(); hls.loadSource(src); hls.attachMedia(v);
      hls.on(Hls.Events.MANIFEST_PARSED, () => v.play());
      window.samples = [];
      setInterval(() => { if (v.currentTime > 0 && !v.paused) samples.push({ at: Date.now(), latency: hls.latency }); }, 500);
    </script>`);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/** Polls a media playlist and records, over time, the media end of the newest listed segment. */
function watchPlaylist(read) {
  const durations = new Map();
  const trace = [];
  const timer = setInterval(async () => {
    const text = await read().catch(() => undefined);
    if (!text) return;
    let seq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
    for (const m of text.matchAll(/#EXTINF:([\d.]+)/g)) durations.set(seq++, Number(m[1]));
    let end = 0;
    for (let i = 0; durations.has(i); i++) end += durations.get(i);
    // LL-HLS: the parts listed after the newest complete segment are playable media too.
    const tail = text.slice(text.lastIndexOf('#EXTINF') + 1);
    for (const m of tail.matchAll(/#EXT-X-PART:DURATION=([\d.]+)/g)) end += Number(m[1]);
    trace.push({ at: Date.now(), mediaEnd: end });
  }, 50);
  return { trace, stop: () => clearInterval(timer) };
}

async function measure(browser, file, rtmpUrl, playUrl, readPlaylist) {
  const pages = await pageServer();
  const publisher = publishCopy(file, rtmpUrl);
  const t0 = Date.now();
  const watch = watchPlaylist(readPlaylist);
  try {
    await sleep(6000);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${pages.address().port}/#${encodeURIComponent(playUrl)}`);
    await sleep(PLAY_SECONDS * 1000);
    const samples = await page.evaluate(() => window.samples);
    await page.close();
    const glass = [];
    for (const s of samples) {
      const known = watch.trace.filter((t) => t.at <= s.at).pop();
      if (!known || known.mediaEnd === 0 || typeof s.latency !== 'number') continue;
      glass.push((s.at - t0) / 1000 - known.mediaEnd + s.latency);
    }
    if (glass.length < 5) throw new Error('the player did not play');
    return {
      ...stats(glass.map((g) => g * 1000)),
      playerBehindEdgeSec: samples.reduce((a, s) => a + s.latency, 0) / samples.length,
    };
  } finally {
    watch.stop();
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
  };
}

/** One run against Stagedoor: its packager (LL-HLS) or FFmpeg (regular HLS). */
async function stagedoorRun(browser, file, packager, round) {
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
      file,
      `rtmp://127.0.0.1:${ports.rtmp.port}/live/lat?token=${await mint({ sub: 'live/lat', scope: 'publish', exp })}`,
      `${base}/index.m3u8?token=${play}`,
      async () => {
        const res = await fetch(`${base}/copy.m3u8?token=${play}`);
        return res.status === 200 ? res.text() : undefined;
      },
    );
  } finally {
    await stagedoor.stop();
  }
}

async function nginxRun(browser, file) {
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
      file,
      `rtmp://127.0.0.1:${rtmpPort}/live/lat`,
      `http://127.0.0.1:${httpPort}/hls/lat.m3u8`,
      async () =>
        existsSync(join(dir, 'hls', 'lat.m3u8'))
          ? readFileSync(join(dir, 'hls', 'lat.m3u8'), 'utf8')
          : undefined,
    );
  } finally {
    await stop();
  }
}

async function main() {
  const file = makeSample(work, 40);
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
      runs.packager.push(await stagedoorRun(browser, file, true, round));
      const nginx = await nginxRun(browser, file);
      if (nginx.skipped) skipped = nginx.skipped;
      else runs.nginx.push(nginx);
      runs.ffmpeg.push(await stagedoorRun(browser, file, false, round));
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
      : `median of ${r.runs} run medians ${(r.median / 1000).toFixed(2)} s (${r.range}), p95 ${(r.p95 / 1000).toFixed(2)} s (hls.js sits ${r.behind.toFixed(2)} s behind the live edge)`;
  console.log(
    `\nLive-edge latency behind the publisher, hls.js defaults, 1 s segments, ${new Date().toISOString()}, ${host}\n`,
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
