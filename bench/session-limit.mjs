#!/usr/bin/env node
// What the concurrent-session limit costs at admission: two cluster nodes on one redis-server, each
// with one live stream (a 320x180 test pattern, passthrough), the same principal key except that
// node "limited" sets `maxSessionsPerSubject: { play: 2 }` (each admission then takes a slot in
// Redis: one Lua script) and node "plain" sets none. Each round opens N new HLS viewers on one
// node — N subjects, a token each (signed beforehand), C at a time, each viewer's first request
// (the variant playlist: authenticate, admit, open the session) — and records each request's
// latency; rounds alternate plain, limited, limited, plain, … Reports admissions per second and
// p50/p99 per node, medians over the rounds with their range.
// Usage: node bench/session-limit.mjs [--viewers 2000] [--concurrency 50] [--rounds 4]
// Run `npm run build` first.
import { Agent, request } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { machine, signer, sleep } from './lib.mjs';
import { option, publish, startNode, startRedis, stop, until, workDir } from './cluster-lib.mjs';

const VIEWERS = Number(option('viewers', 2000));
const CONCURRENCY = Number(option('concurrency', 50));
const ROUNDS = Number(option('rounds', 4));
const here = dirname(fileURLToPath(import.meta.url));
const work = workDir('sd-bench-limit-');
const secret = randomBytes(32).toString('hex');
const people = randomBytes(32).toString('hex');
const apiKey = randomBytes(24).toString('hex');
const mint = signer(secret, 'bench');
const mintPerson = signer(people, 'people');
const STREAM = 'live/lim';
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

const percentile = (sorted, q) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
const median = (values) =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
const range = (values) => `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`;

function get(url) {
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** N new viewers, C at a time, on `port`: each one's first request timed. */
async function round(port, label) {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const tokens = await Promise.all(
    Array.from({ length: VIEWERS }, (_, i) =>
      mintPerson({ sub: `${label}-${i}`, scope: `play:${STREAM}`, exp }),
    ),
  );
  const latencies = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < tokens.length) {
        const token = tokens[next++];
        const t0 = performance.now();
        const status = await get(`http://127.0.0.1:${port}/${STREAM}/copy.m3u8?token=${token}`);
        latencies.push(performance.now() - t0);
        if (status !== 200) errors++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSec: VIEWERS / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
  };
}

async function main() {
  const redis = await startRedis(work);
  const node = (name, limit) =>
    startNode(name, {
      work,
      redisUrl: redis.url,
      keyPrefix: `bench-limit-${randomBytes(3).toString('hex')}:`,
      apiKey,
      secret,
      config: {
        log: { level: 'info', pretty: false },
        hls: { renditions: [{ name: 'copy', copy: true }], segmentSec: 1 },
        auth: {
          cacheMaxEntries: 50_000,
          keys: [
            { kid: 'bench', alg: 'HS256', secret },
            {
              kid: 'people',
              alg: 'HS256',
              secret: people,
              actions: ['play'],
              subject: 'principal',
              ...(limit ? { maxSessionsPerSubject: { play: 2 } } : {}),
            },
          ],
        },
      },
    });
  const nodes = { plain: await node('plain', false), limited: await node('limited', true) };
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const seconds = ROUNDS * 60 + 60;
  const publishers = [];
  for (const n of Object.values(nodes)) {
    const token = await mint({ sub: STREAM, scope: 'publish', exp });
    publishers.push(publish(`rtmp://127.0.0.1:${n.ports.rtmp}/${STREAM}?token=${token}`, seconds));
    const play = await mint({ sub: STREAM, scope: 'play', exp });
    await until(
      async () =>
        (await get(`http://127.0.0.1:${n.ports.http}/${STREAM}/copy.m3u8?token=${play}`)) === 200
          ? true
          : undefined,
      20_000,
      `the stream playable on ${n.name}`,
    );
  }
  await sleep(2000);
  const results = { plain: [], limited: [] };
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? ['plain', 'limited'] : ['limited', 'plain'];
    for (const name of order) {
      results[name].push(await round(nodes[name].ports.http, `r${i}-${name}`));
      await sleep(2000);
    }
  }
  for (const p of publishers) p.child.kill('SIGKILL');
  await Promise.all(Object.values(nodes).map((n) => stop(n.child)));
  await stop(redis.child);

  const host = machine();
  const date = new Date().toISOString();
  const line = (name) => {
    const r = results[name];
    const of = (k) => r.map((x) => x[k]);
    return `  ${name.padEnd(8)} ${median(of('perSec')).toFixed(0)} admissions/s (${range(of('perSec'))}), p50 ${median(of('p50')).toFixed(1)} ms (${range(of('p50'))}), p99 ${median(of('p99')).toFixed(1)} ms (${range(of('p99'))}), errors ${of('errors').reduce((x, y) => x + y, 0)}`;
  };
  console.log(
    `\nAdmission with and without a concurrent-session limit (cluster mode, redis-server ${redis.version}): ${VIEWERS} new HLS viewers per round, ${CONCURRENCY} at a time, ${ROUNDS} alternating rounds per node (median, range), ${date}, ${host}\n${line('plain')}\n${line('limited')}\n`,
  );
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'session-limit.json'),
    JSON.stringify(
      {
        date,
        machine: host,
        redis: redis.version,
        viewers: VIEWERS,
        concurrency: CONCURRENCY,
        results,
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
