#!/usr/bin/env node
// Benchmark: floods of unauthenticated RTMP connections (issue #15). 200 clients from one address
// complete the handshake, then either stay idle, or declare 8 MiB messages on 64 chunk streams and go
// idle (what made node-media-server allocate 512 MiB per connection). Measured, in one run, for
// Stagedoor and for nginx-rtmp as the peer: the server's CPU and RSS over 10 s of each flood, and how
// long a real ffmpeg publisher from another address takes to be admitted during it (ffmpeg start →
// admission decision: Stagedoor's session start, nginx-rtmp's on_publish call).
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
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
} from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const FLOOD = Number(process.env.BENCH_FLOOD ?? 200);
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sd-bench-flood-'));
const secret = randomBytes(32).toString('hex');
const mint = signer(secret, 'bench');

// The attacker runs in its own process, so that its CPU is not counted as the server's.
const FLOOD_SCRIPT = `
import { connect } from 'node:net';
const [port, count] = process.argv.slice(1, 3).map(Number);
const declaring = process.argv[3] === 'declare';
const declare = (cid) => Buffer.from([cid, 0, 0, 0, 0x80, 0, 0, 20, 0, 0, 0, 0]);
const attack = Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 128]),
  ...Array.from({ length: 64 }, (_, i) => Buffer.concat([declare(3 + (i % 60)), Buffer.alloc(128)]))]);
let open = 0;
for (let i = 0; i < count; i++) {
  const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
  let got = 0;
  socket.on('connect', () => { open++; socket.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)])); });
  socket.on('data', (d) => { got += d.length; if (got >= 3073 && got - d.length < 3073) { socket.write(Buffer.alloc(1536)); if (declaring) socket.write(attack); } });
  socket.on('error', () => {});
  socket.on('close', () => open--);
}
setInterval(() => process.stdout.write(open + '\\n'), 1000);
`;

function startFlood(port, kind) {
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', FLOOD_SCRIPT, String(port), String(FLOOD), kind],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let open = 0;
  child.stdout.on('data', (d) => (open = Number(String(d).trim().split('\n').pop())));
  return { stop: () => child.kill('SIGKILL'), open: () => open };
}

/** CPU seconds and RSS of a process from /proc. */
function procSample(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { cpuSec: ticks / 100, rssMiB: rssKb / 1024 };
}

async function underFlood(pid, port, admit, kind) {
  const before = procSample(pid);
  const flood = startFlood(port, kind);
  await sleep(10_000);
  const during = procSample(pid);
  const admissions = [];
  for (let i = 0; i < RUNS; i++) admissions.push(await admit(`${kind}${i}`));
  flood.stop();
  await sleep(1000);
  return {
    floodConnectionsOpenAfter10s: flood.open(),
    cpuPercentDuringFlood: Math.round(((during.cpuSec - before.cpuSec) / 10) * 100),
    rssMiB: { before: Math.round(before.rssMiB), during: Math.round(during.rssMiB) },
    admission: stats(admissions),
  };
}

/**
 * An admission probe: publishes `file` to `urlFor(name)` and resolves with the ms from ffmpeg's start
 * to the moment the server calls `admitted(name)` (its admission decision).
 */
function admissionProbe(file, urlFor) {
  const waiting = new Map();
  const admit = async (tag) => {
    const name = `flood${tag}`;
    const at = new Promise((resolve) => waiting.set(name, resolve));
    const publisher = publishCopy(file, await urlFor(name));
    const ms = (await at) - publisher.startedAt;
    publisher.stop();
    await publisher.exited;
    return ms;
  };
  return { admit, admitted: (name) => waiting.get(name)?.(performance.now()) };
}

/** Admission when quiet, then under each flood, for the server process `pid` listening on `port`. */
async function measure(pid, port, admit) {
  const quiet = [];
  for (let i = 0; i < RUNS; i++) quiet.push(await admit(`quiet${i}`));
  return {
    quiet: stats(quiet),
    idle: await underFlood(pid, port, admit, 'idle'),
    declare: await underFlood(pid, port, admit, 'declare'),
  };
}

async function stagedoorRun(file) {
  const { stagedoor, ports } = await startStagedoor(work, secret, { hls: { enabled: false } });
  const probe = admissionProbe(
    file,
    async (name) =>
      `rtmp://127.0.0.1:${ports.rtmp.port}/live/${name}?token=${await mint({ sub: `live/${name}`, scope: 'publish', exp: Math.floor(Date.now() / 1000) + 120 })}`,
  );
  stagedoor.registry.onChange((event, session) => {
    if (event === 'start') probe.admitted(session.stream.name);
  });
  try {
    return await measure(process.pid, ports.rtmp.port, probe.admit);
  } finally {
    await stagedoor.stop();
  }
}

async function nginxRun(file) {
  const missing = nginxMissing({ rtmp: true });
  if (missing) return { skipped: missing };
  const port = await freePort();
  const probe = admissionProbe(file, async (name) => `rtmp://127.0.0.1:${port}/live/${name}`);
  const hook = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      probe.admitted(new URLSearchParams(body).get('name'));
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => hook.listen(0, '127.0.0.1', r));
  const dir = join(work, 'nginx');
  const stop = await startNginx(
    dir,
    `master_process off;
events { worker_connections 1024; }
rtmp { server { listen 127.0.0.1:${port}; application live { live on; on_publish http://127.0.0.1:${hook.address().port}/auth; } } }`,
    port,
  );
  try {
    return await measure(Number(readFileSync(join(dir, 'nginx.pid'), 'utf8')), port, probe.admit);
  } finally {
    await stop();
    hook.close();
  }
}

async function main() {
  const file = makeSample(work);
  const results = { stagedoor: await stagedoorRun(file), nginx: await nginxRun(file) };
  const host = machine();
  console.log(
    `\nRTMP flood benchmark, ${new Date().toISOString()}, ${host}, ${FLOOD} unauthenticated connections from one address\n`,
  );
  for (const [name, r] of Object.entries(results)) {
    if (r.skipped) {
      console.log(`  ${name}: skipped (${r.skipped})`);
      continue;
    }
    console.log(`  ${name}: admission, quiet: ${fmt(r.quiet)}`);
    for (const kind of ['idle', 'declare']) {
      const f = r[kind];
      console.log(
        `  ${name}, ${kind} flood: admission ${fmt(f.admission)}; flood connections open after 10 s: ${f.floodConnectionsOpenAfter10s}; server CPU ${f.cpuPercentDuringFlood} %; RSS ${f.rssMiB.before} → ${f.rssMiB.during} MiB`,
      );
    }
  }
  const out = join(here, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'rtmp-flood.json'),
    JSON.stringify(
      { date: new Date().toISOString(), machine: host, runs: RUNS, flood: FLOOD, ...results },
      null,
      2,
    ),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
