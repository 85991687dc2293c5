#!/usr/bin/env node
// Load generator for bench/ll-viewers.mjs (its own process): V simulated LL-HLS players, each with
// its own token, doing what hls.js does in low-latency mode: a blocking playlist reload for the
// next part (`_HLS_msn`/`_HLS_part`), then that part, again and again.
// Prints, per part, the earliest moment a blocking reload announcing it was answered (≈ when the
// part came to exist) and when each viewer had the part's bytes; bench/ll-viewers.mjs merges them.
// With a sixth argument `timings` (bench/cluster-hop.mjs), also how long each part fetch and each
// blocking reload took after the first 3 s (ms, 0.1 ms steps) and the process's own CPU time.
// argv: <httpPort> <stream> <viewers> <seconds> <secret> [timings]; env BENCH_ACCEPT_ENCODING
import { Agent, request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { SignJWT } from 'jose';

const [port, stream, viewersArg, secondsArg, secret, extra] = process.argv.slice(2);
const timings = extra === 'timings' ? { partMs: [], reloadMs: [] } : undefined;
const startedAt = Date.now();
/** Timings are kept in steady state only: a viewer's first seconds (token, master, start) are not. */
const steadyFrom = startedAt + 3000;
const viewers = Number(viewersArg);
const seconds = Number(secondsArg);
const key = new TextEncoder().encode(secret);
const base = `http://127.0.0.1:${port}/${stream}/`;
const agent = new Agent({ keepAlive: true, maxSockets: viewers * 2 });
/** Part name → the earliest time (ms since the epoch) a playlist listing it reached a viewer. */
const announced = {};
/** Part name → when each viewer had its bytes. */
const delivered = {};
let requests = 0;
let errors = 0;

// BENCH_ACCEPT_ENCODING (e.g. `br` or `gzip`): ask for compressed playlists, as browsers do.
const acceptEncoding = process.env.BENCH_ACCEPT_ENCODING;
const headers = acceptEncoding ? { 'accept-encoding': acceptEncoding } : {};
const decode = (encoding, body) =>
  encoding === 'br' ? brotliDecompressSync(body) : encoding === 'gzip' ? gunzipSync(body) : body;

function get(url) {
  return new Promise((resolve) => {
    const req = request(url, { agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          body: decode(res.headers['content-encoding'], Buffer.concat(chunks)),
        }),
      );
      res.on('error', () => resolve(undefined));
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function fetchOk(url, timed) {
  requests++;
  const started = performance.now();
  const res = await get(url);
  if (timed && Date.now() >= steadyFrom)
    timed.push(Math.round((performance.now() - started) * 10) / 10);
  if (res?.status !== 200) {
    errors++;
    return undefined;
  }
  return res.body.toString('latin1');
}

/** The next part a player would block for, and the newest part the playlist lists. */
function readPlaylist(text) {
  const lines = text.split('\n');
  const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  let segments = 0;
  let partsAfter = 0;
  let newest;
  for (const line of lines) {
    if (line.startsWith('#EXTINF')) {
      segments++;
      partsAfter = 0;
    } else if (line.startsWith('#EXT-X-PART:')) {
      partsAfter++;
      newest = /URI="([^"]+)"/.exec(line)?.[1];
    }
  }
  return { next: { msn: sequence + segments, part: partsAfter }, newest };
}

async function viewer(i, deadline) {
  await new Promise((r) => setTimeout(r, Math.random() * 1000));
  const token = await new SignJWT({ scope: 'play' })
    .setProtectedHeader({ alg: 'HS256', kid: 'bench' })
    .setSubject(stream)
    .setJti(`ll-viewer-${process.pid}-${i}`)
    .setExpirationTime('1h')
    .sign(key);
  const master = await fetchOk(`${base}index.m3u8?token=${token}`);
  if (!master) return;
  const variant = master.split('\n').find((l) => l && !l.startsWith('#'));
  let text = await fetchOk(base + variant);
  // The part newest at start-up existed before this viewer came: only parts it waited for count.
  const seen = new Set([text && readPlaylist(text).newest?.split('?')[0]]);
  while (text && Date.now() < deadline) {
    const { next, newest } = readPlaylist(text);
    const name = newest?.split('?')[0];
    if (newest && !seen.has(name)) {
      seen.add(name);
      const at = Date.now();
      if (!(name in announced) || announced[name] > at) announced[name] = at;
      if ((await fetchOk(base + newest, timings?.partMs)) !== undefined)
        (delivered[name] ??= []).push(Date.now());
    }
    text = await fetchOk(
      `${base}${variant}&_HLS_msn=${next.msn}&_HLS_part=${next.part}`,
      timings?.reloadMs,
    );
  }
}

const deadline = startedAt + seconds * 1000;
await Promise.all(Array.from({ length: viewers }, (_, i) => viewer(i, deadline)));
const cpu = process.cpuUsage();
process.stdout.write(
  JSON.stringify({
    viewers,
    requests,
    errors,
    announced,
    delivered,
    ...(timings && { ...timings, cpuSec: (cpu.user + cpu.system) / 1e6 }),
  }),
);
