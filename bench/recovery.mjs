#!/usr/bin/env node
// FFmpeg crash recovery: a stream's FFmpeg is killed with SIGKILL mid-stream; how long until the
// supervisor has a new one running, and until the copy rendition's playlist lists a new segment.
//  RTMP: the GOP cache feeds the new FFmpeg;
//  WebSocket WebM (VP8/Opus, encoded to H.264) and fragmented MP4 (H.264/AAC, passed through):
//  the resume buffer feeds it the container header and the latest GOP.
// No peer: nginx-rtmp segments in-process (nothing to crash), and node-media-server does not
// restart its FFmpeg while the publisher stays.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import {
  fmt,
  machine,
  makeClip,
  makeSample,
  publishCopy,
  signer,
  sleep,
  startStagedoor,
  stats,
} from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const SECONDS = 30;
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sd-bench-rec-'));
const secret = randomBytes(32).toString('hex');
const mint = signer(secret, 'bench');

/** Sends a container file over a publishing WebSocket in real time (100 ms slices). */
async function wsPublisher(httpPort, stream, file) {
  const bytes = readFileSync(file);
  const ws = new WebSocket(
    `ws://127.0.0.1:${httpPort}/ws/${stream}?token=${await mint({ sub: stream, scope: 'publish', exp: Date.now() / 1000 + 600 })}`,
  );
  await new Promise((resolve, reject) => ws.on('open', resolve).on('error', reject));
  const slice = Math.ceil(bytes.length / (SECONDS * 10));
  let at = 0;
  const timer = setInterval(() => {
    if (ws.readyState === ws.OPEN && at < bytes.length) ws.send(bytes.subarray(at, (at += slice)));
  }, 100);
  return {
    stop: () => (clearInterval(timer), ws.terminate()),
    closed: () => ws.readyState !== ws.OPEN,
  };
}

const lastSegment = (text) =>
  Math.max(
    -1,
    ...text
      .split('\n')
      .filter((l) => l.endsWith('.ts'))
      .map((l) => Number(/_(\d+)\.ts$/.exec(l)?.[1] ?? -1)),
  );
const readText = (path) => (existsSync(path) ? readFileSync(path, 'utf8') : '');

async function until(fn, timeoutMs, everyMs = 5) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = fn();
    if (value) return value;
    await sleep(everyMs);
  }
  throw new Error(`not within ${timeoutMs} ms`);
}

async function measure(stagedoor, mediaDir, kind, start) {
  const restart = [];
  const segment = [];
  for (let i = 0; i < RUNS; i++) {
    const stream = `live/rec${kind}${i}`;
    const publisher = await start(stream);
    try {
      const playlist = join(mediaDir, stream, 'copy.m3u8');
      await until(() => lastSegment(readText(playlist)) >= 2, 20_000, 50);
      const transcoder = stagedoor.outputs.get(stream);
      const pid = transcoder.pid;
      const last = lastSegment(readText(playlist));
      const killedAt = performance.now();
      process.kill(pid, 'SIGKILL');
      await until(() => transcoder.pid && transcoder.pid !== pid, 10_000);
      restart.push(performance.now() - killedAt);
      await until(() => lastSegment(readText(playlist)) > last, 10_000);
      segment.push(performance.now() - killedAt);
      if (publisher.closed()) throw new Error(`${kind}: the publisher was closed by the crash`);
    } finally {
      publisher.stop();
    }
    await sleep(300);
  }
  return { restart: stats(restart), segment: stats(segment) };
}

async function main() {
  const flv = makeSample(work, SECONDS);
  const webm = makeClip(work, 'sample.webm', SECONDS, [
    '-c:v',
    'libvpx',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-b:v',
    '1500k',
    '-g',
    '30',
    '-c:a',
    'libopus',
    '-f',
    'webm',
  ]);
  const mp4 = makeClip(work, 'sample.mp4', SECONDS, [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '30',
    '-c:a',
    'aac',
    '-movflags',
    'frag_keyframe+empty_moov+default_base_moof',
    '-f',
    'mp4',
  ]);
  const { stagedoor, ports, mediaDir } = await startStagedoor(work, secret, {
    hls: { renditions: [{ name: 'copy', copy: true }], cleanupAfterSec: 1 },
  });
  const results = {};
  try {
    results.rtmp = await measure(stagedoor, mediaDir, 'rtmp', async (stream) => {
      const publisher = publishCopy(
        flv,
        `rtmp://127.0.0.1:${ports.rtmp.port}/${stream}?token=${await mint({ sub: stream, scope: 'publish', exp: Date.now() / 1000 + 600 })}`,
      );
      return { stop: publisher.stop, closed: () => publisher.child.exitCode !== null };
    });
    results.webm = await measure(stagedoor, mediaDir, 'webm', (stream) =>
      wsPublisher(ports.http.port, stream, webm),
    );
    results.mp4 = await measure(stagedoor, mediaDir, 'mp4', (stream) =>
      wsPublisher(ports.http.port, stream, mp4),
    );
  } finally {
    await stagedoor.stop();
  }
  const host = machine();
  console.log(
    `\nFFmpeg crash recovery (SIGKILL mid-stream, 720p, 1 s GOP), ${new Date().toISOString()}, ${host}\n`,
  );
  for (const [name, label] of [
    ['rtmp', 'RTMP (copy)             '],
    ['webm', 'WebSocket WebM (encoded)'],
    ['mp4', 'WebSocket fMP4 (copy)   '],
  ]) {
    console.log(`  ${label}  kill → new FFmpeg: ${fmt(results[name].restart)}`);
    console.log(
      `  ${' '.repeat(label.length)}  kill → next segment: ${fmt(results[name].segment)}`,
    );
  }
  console.log('');
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'recovery.json'),
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
