#!/usr/bin/env node
// Expiry enforcement lag, per protocol: how long after `exp` the server actually cuts.
//  RTMP: exp → the server closes the TCP connection (seen by a relay in front of it);
//  WebSocket: exp → the client receives the close frame (4401 TOKEN_EXPIRED);
//  HLS: exp → the first refused request of a viewer polling every 20 ms (bounded by the poll).
import { createServer as createNetServer, connect } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import {
  fmt,
  machine,
  makeSample,
  publishCopy,
  signer,
  sleep,
  startStagedoor,
  stats,
} from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sd-bench-exp-'));
const secret = randomBytes(32).toString('hex');
const mint = signer(secret, 'bench');

async function rtmpLags(file, port) {
  const closes = [];
  const relay = createNetServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port });
    client.pipe(upstream).pipe(client);
    upstream.on('close', () => {
      closes.push(Date.now());
      client.destroy();
    });
    upstream.on('error', () => {});
    client.on('error', () => upstream.destroy());
  });
  await new Promise((r) => relay.listen(0, '127.0.0.1', r));
  const lags = [];
  for (let i = 0; i < RUNS; i++) {
    const exp = Date.now() + 1500;
    const before = closes.length;
    const { exited } = publishCopy(
      file,
      `rtmp://127.0.0.1:${relay.address().port}/live/rtmp${i}?token=${await mint({ sub: `live/rtmp${i}`, scope: 'publish', exp: exp / 1000 })}`,
    );
    await exited;
    lags.push(closes[before] - exp);
  }
  relay.close();
  return stats(lags);
}

async function wsLags(flv, httpPort) {
  const bytes = readFileSync(flv);
  const lags = [];
  for (let i = 0; i < RUNS; i++) {
    const exp = Date.now() + 1500;
    const ws = new WebSocket(
      `ws://127.0.0.1:${httpPort}/ws/live/ws${i}?token=${await mint({ sub: `live/ws${i}`, scope: 'publish', exp: exp / 1000 })}`,
    );
    const closed = new Promise((r) => ws.on('close', (code) => r({ code, at: Date.now() })));
    await new Promise((r) => ws.on('open', r));
    // Real-time pacing: 100 ms slices.
    const slice = Math.ceil(bytes.length / 200);
    let at = 0;
    const timer = setInterval(() => {
      if (ws.readyState === ws.OPEN && at < bytes.length)
        ws.send(bytes.subarray(at, (at += slice)));
    }, 100);
    const { code, at: closedAt } = await closed;
    clearInterval(timer);
    if (code !== 4401) throw new Error(`unexpected close ${code}`);
    lags.push(closedAt - exp);
  }
  return stats(lags);
}

async function hlsLags(httpPort, mediaDir) {
  mkdirSync(join(mediaDir, 'live', 'hlsexp'), { recursive: true });
  writeFileSync(join(mediaDir, 'live', 'hlsexp', 'index.m3u8'), '#EXTM3U\n#EXTINF:1,\nseg.ts\n');
  writeFileSync(join(mediaDir, 'live', 'hlsexp', 'seg.ts'), Buffer.alloc(1024));
  const lags = [];
  for (let i = 0; i < RUNS; i++) {
    const exp = Date.now() + 1000;
    const token = await mint({ sub: 'live/hlsexp', scope: 'play', exp: exp / 1000, jti: `v${i}` });
    const playlist = await (
      await fetch(`http://127.0.0.1:${httpPort}/live/hlsexp/index.m3u8?token=${token}`)
    ).text();
    const segment = `http://127.0.0.1:${httpPort}/live/hlsexp/${playlist.split('\n').find((l) => l.startsWith('seg.ts'))}`;
    for (;;) {
      const res = await fetch(segment);
      await res.arrayBuffer();
      if (res.status === 401) {
        lags.push(Date.now() - exp);
        break;
      }
      await sleep(20);
    }
  }
  return stats(lags);
}

async function main() {
  const file = makeSample(work, 20); // FLV: RTMP publishers send it with -c copy, WebSocket clients as bytes
  // WebSocket FLV needs no FFmpeg: with HLS off its packets only feed the hub.
  const { stagedoor, ports, mediaDir } = await startStagedoor(work, secret, {
    hls: { enabled: false },
    ws: { maxAheadSec: 30 },
  });
  const results = {};
  try {
    results.rtmp = await rtmpLags(file, ports.rtmp.port);
    results.ws = await wsLags(file, ports.http.port);
    results.hls = await hlsLags(ports.http.port, mediaDir);
  } finally {
    await stagedoor.stop();
  }
  const host = machine();
  console.log(`\nExpiry enforcement lag, ${new Date().toISOString()}, ${host}\n`);
  console.log(`  RTMP publisher (exp → TCP close):          ${fmt(results.rtmp)}`);
  console.log(`  WebSocket publisher (exp → close frame):   ${fmt(results.ws)}`);
  console.log(`  HLS viewer (exp → first 401, 20 ms polls): ${fmt(results.hls)}\n`);
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'expiry.json'),
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
