#!/usr/bin/env node
// Load generator for bench/viewers.mjs (its own process, so it does not share the server's event
// loop): V simulated HLS viewers, each opening the master with its own token and then behaving as a
// player: poll the media playlist every second, fetch each new segment once.
// argv: <httpPort or base URL> <stream> <viewers> <seconds> <secret>
import { Agent, request } from 'node:http';
import { SignJWT } from 'jose';

const [port, stream, viewersArg, secondsArg, secret] = process.argv.slice(2);
const viewers = Number(viewersArg);
const seconds = Number(secondsArg);
const key = new TextEncoder().encode(secret);
const base = `${port.includes('://') ? port : `http://127.0.0.1:${port}`}/${stream}/`;
const latencies = [];
let errors = 0;
let requests = 0;
let bytes = 0;
/** Segment responses by the edge's X-Cache-Status (HIT, MISS …); none without an edge. */
const cache = {};

// node:http with keep-alive rather than fetch: a fraction of the client CPU per request, so that the
// load generator is not what is measured. A player holds one connection.
const agent = new Agent({ keepAlive: true, maxSockets: viewers });

/** GET `url`; the body, or undefined (an error counted) on anything but 200. */
function get(url) {
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', () => resolve(undefined));
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Latency is recorded in steady state only: a player's first 3 s (token, master, first load) are not. */
const WARM_UP_MS = 3000;

async function timed(url, steadyFrom = 0) {
  const started = performance.now();
  const res = await get(url);
  requests++;
  const ms = performance.now() - started;
  if (Date.now() >= steadyFrom) latencies.push(ms);
  if (!res || res.status !== 200) {
    errors++;
    return undefined;
  }
  const status = res.headers['x-cache-status'];
  if (status && /\.(ts|m4s)\?/.test(url)) cache[status] = (cache[status] ?? 0) + 1;
  bytes += res.body.length;
  return res.body;
}

async function viewer(i, deadline) {
  await new Promise((r) => setTimeout(r, Math.random() * 1000)); // players do not start in lockstep
  const token = await new SignJWT({ scope: 'play' })
    .setProtectedHeader({ alg: 'HS256', kid: 'bench' })
    .setSubject(stream)
    .setJti(`viewer-${process.pid}-${i}`) // unique across load processes
    .setExpirationTime('1h')
    .sign(key);
  const master = await timed(`${base}index.m3u8?token=${token}`, Infinity); // start-up: not steady state
  if (!master) return;
  const variant = master
    .toString()
    .split('\n')
    .find((l) => l && !l.startsWith('#'));
  const seen = new Set();
  const steadyFrom = Date.now() + WARM_UP_MS;
  while (Date.now() < deadline) {
    const started = Date.now();
    const playlist = await timed(base + variant, steadyFrom);
    if (playlist) {
      const segments = playlist
        .toString()
        .split('\n')
        .filter((l) => l && !l.startsWith('#'));
      const newest = segments[segments.length - 1];
      const name = newest?.split('?')[0]; // its pass changes; the segment does not
      if (newest && !seen.has(name)) {
        seen.add(name);
        await timed(base + newest, steadyFrom);
      }
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
  }
}

const deadline = Date.now() + seconds * 1000;
await Promise.all(Array.from({ length: viewers }, (_, i) => viewer(i, deadline)));
latencies.sort((a, b) => a - b);
const at = (q) =>
  latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] ?? 0;
process.stdout.write(
  JSON.stringify({
    viewers,
    requests,
    errors,
    bytes,
    cache,
    p50: at(0.5),
    p99: at(0.99),
    max: latencies[latencies.length - 1] ?? 0,
  }),
);
