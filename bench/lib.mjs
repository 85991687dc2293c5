// Shared pieces of the benchmarks: statistics, a pre-encoded sample, publishers, nginx as a peer.
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer as createNetServer, connect } from 'node:net';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { n: sorted.length, median: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] };
}

export const fmt = (s, unit = 'ms') =>
  s.skipped
    ? `skipped: ${s.skipped}`
    : `median ${s.median.toFixed(0)} ${unit}, p95 ${s.p95.toFixed(0)} ${unit}, max ${s.max.toFixed(0)} ${unit} (n=${s.n})`;

export function machine() {
  return `${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** A 720p/30 test picture with a tone, `seconds` long, encoded once into `dir/name` with `outputArgs`. */
export function makeClip(dir, name, seconds, outputArgs) {
  const file = join(dir, name);
  if (!existsSync(file)) {
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=1280x720:rate=30',
      '-f',
      'lavfi',
      '-i',
      'sine',
      '-t',
      String(seconds),
      ...outputArgs,
      file,
    ]);
  }
  return file;
}

/** A 720p H.264/AAC FLV with 1 s GOPs, encoded once, so publishers can send it with -c copy. */
export function makeSample(dir, seconds = 20) {
  return makeClip(dir, `sample-${seconds}.flv`, seconds, [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '30',
    '-c:a',
    'aac',
    '-f',
    'flv',
  ]);
}

/** A live test pattern (640x360, ultrafast x264 at 400 kb/s, AAC) published over RTMP until killed. */
export function publishPattern(url) {
  return spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re']
      .concat(['-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine'])
      .concat(['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency'])
      .concat(['-pix_fmt', 'yuv420p', '-g', '30', '-b:v', '400k', '-c:a', 'aac', '-f', 'flv', url]),
    { stdio: 'ignore' },
  );
}

export function publishCopy(file, url) {
  const startedAt = performance.now();
  const child = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostdin',
      '-re',
      '-i',
      file,
      '-c',
      'copy',
      '-f',
      'flv',
      url,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) =>
    child.on('exit', (code) => resolve({ code, ms: performance.now() - startedAt })),
  );
  return { child, startedAt, exited, stop: () => child.exitCode === null && child.kill('SIGKILL') };
}

export const signer = (secret, kid) => (claims) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid })
    .sign(new TextEncoder().encode(secret));

export async function freePort() {
  const probe = createNetServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  return port;
}

export async function waitForPort(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const up = await new Promise((r) =>
      connect({ host: '127.0.0.1', port })
        .on('connect', function () {
          this.destroy();
          r(true);
        })
        .on('error', () => r(false)),
    );
    if (up) return;
    await sleep(50);
  }
  throw new Error(`port ${port} did not open`);
}

export const NGINX_RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

/** Why nginx cannot be the peer here, or undefined when it can. */
export function nginxMissing({ rtmp = false } = {}) {
  if (!existsSync('/usr/sbin/nginx'))
    return 'nginx is not installed (apt-get install -y nginx libnginx-mod-rtmp)';
  if (rtmp && !existsSync(NGINX_RTMP_MODULE))
    return 'nginx-rtmp is not installed (apt-get install -y libnginx-mod-rtmp)';
  return undefined;
}

/** Runs nginx in the foreground on a config body written to `dir`; returns a stop function. */
export async function startNginx(dir, body, port) {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${body.includes('rtmp {') ? `load_module ${NGINX_RTMP_MODULE};\n` : ''}daemon off; pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log warn;\n${body}\n`,
  );
  const nginx = spawn('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], {
    stdio: 'ignore',
  });
  await waitForPort(port);
  return async () => {
    nginx.kill('SIGTERM');
    await new Promise((r) => (nginx.exitCode !== null ? r() : nginx.on('exit', r)));
  };
}

/** Runs wrk (asynchronously: the server under test may live in this process) and returns req/s and latency. */
export async function wrk(url, { connections = 50, seconds = 10, threads = 2 } = {}) {
  const child = spawn(
    'wrk',
    ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency', url],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${out}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const toMs = (v, u) => Number(v) * (u === 'us' ? 0.001 : u === 's' ? 1000 : 1);
  const pct = (p) => {
    const m = new RegExp(`${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? toMs(m[1], m[2]) : undefined;
  };
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p50: pct(50), p99: pct(99), non2xx };
}

/**
 * A Stagedoor for a benchmark: loopback, free ports, no admin port or banner, its media and state
 * under `work`, one HS256 key (kid `bench`), silent logs. `overrides` replace top-level config keys.
 */
export async function startStagedoor(work, secret, overrides = {}) {
  const { parseConfig } = await import('../dist/config/load-config.js');
  const { createStagedoor } = await import('../dist/app.js');
  const { pino } = await import('pino');
  const config = parseConfig({
    rtmp: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    admin: { enabled: false },
    mediaDir: join(work, 'media'),
    stateDir: join(work, 'state'),
    banner: { enabled: false },
    auth: { keys: [{ kid: 'bench', alg: 'HS256', secret }] },
    ...overrides,
  });
  const stagedoor = await createStagedoor(config, pino({ level: 'silent' }));
  const ports = await stagedoor.start();
  return { stagedoor, ports, mediaDir: config.mediaDir };
}

/**
 * `viewers` simulated players of `stream` (bench/viewer-load.mjs) split over `loaders` processes,
 * against `base` (a port or a URL); their results merged.
 */
export async function playerLoad(base, stream, viewers, { seconds, secret, loaders = 2 }) {
  const parts = await Promise.all(
    Array.from({ length: loaders }, (_, i) => {
      const share = Math.floor(viewers / loaders) + (i < viewers % loaders ? 1 : 0);
      const child = spawn(
        process.execPath,
        [
          fileURLToPath(new URL('viewer-load.mjs', import.meta.url)),
          String(base),
          stream,
          String(share),
          String(seconds),
          secret,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      return new Promise((resolve, reject) =>
        child.on('exit', (code) =>
          code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`viewer load exited ${code}`)),
        ),
      );
    }),
  );
  const cache = {};
  for (const p of parts)
    for (const [k, v] of Object.entries(p.cache)) cache[k] = (cache[k] ?? 0) + v;
  return {
    viewers,
    requests: parts.reduce((n, p) => n + p.requests, 0),
    errors: parts.reduce((n, p) => n + p.errors, 0),
    // The loaders' own percentiles, the worst of them (a merge of raw samples is not kept).
    p50: Math.max(...parts.map((p) => p.p50)),
    p99: Math.max(...parts.map((p) => p.p99)),
    cache,
  };
}
