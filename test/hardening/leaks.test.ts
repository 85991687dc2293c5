// 200 publish / play / expire cycles: sessions, streams, sockets, file descriptors, child
// processes and memory must come back to where they were.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { eventually } from '../helpers/http.js';
import { sign } from '../helpers/tokens.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer(testConfig(undefined, { hls: { viewerIdleSec: 0.5 } }));
});
afterAll(async () => {
  await server.stop();
});

const fdCount = () => readdirSync('/proc/self/fd').length;
const gc = (globalThis as { gc?: () => void }).gc;
/** Live heap after a full collection (RSS alone mostly measures what V8 has not returned yet). */
async function heapMiB(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().heapUsed / 2 ** 20;
}
const children = () =>
  readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(process.pid);
    } catch {
      return false;
    }
  }).length;

async function cycle(i: number): Promise<void> {
  const name = `leak${i}`;
  const exp = (Date.now() + 800) / 1000;
  const publisher = await RawRtmpClient.open(server.rtmpPort);
  await publisher.handshake();
  publisher.connectApp('live');
  publisher.publish(`${name}?token=${await sign({ sub: `live/${name}`, scope: 'publish play', exp }, { kid: 'hs' })}`);
  await publisher.waitForStatus((s) => s.code === 'NetStream.Publish.Start');
  publisher.sendMedia(0);
  const player = await RawRtmpClient.open(server.rtmpPort);
  await player.handshake();
  player.connectApp('live');
  player.play(`${name}?token=${await sign({ sub: `live/${name}`, scope: 'play', exp }, { kid: 'hs' })}`);
  const hlsToken = await sign({ sub: 'live/static', scope: 'play', exp }, { kid: 'hs' });
  await fetch(server.hlsUrl('live/static', hlsToken)).then((r) => r.arrayBuffer());
  // Both are cut at expiry.
  await Promise.all([publisher.closed, player.closed]);
}

async function run(cycles: number, from: number): Promise<void> {
  for (let batch = 0; batch < cycles / 20; batch++) {
    await Promise.all(Array.from({ length: 20 }, (_, j) => cycle(from + batch * 20 + j)));
  }
}

describe('resource leaks', () => {
  it('200 publish/play/expire cycles leave no session, stream, socket, file descriptor, child process or memory behind', async () => {
    mkdirSync(join(server.mediaDir, 'live', 'static'), { recursive: true });
    writeFileSync(join(server.mediaDir, 'live', 'static', 'index.m3u8'), '#EXTM3U\n');
    await run(20, 0); // warm-up: JIT, pools, lazy modules
    await eventually(() => (server.stagedoor.registry.size === 0 ? true : undefined), 5000);
    expect(gc, 'run with --expose-gc (vitest.config.ts)').toBeDefined();
    await new Promise((r) => setTimeout(r, 1000)); // idle HLS viewers and token cache entries lapse
    const before = { fds: fdCount(), rss: process.memoryUsage().rss, heap: await heapMiB(), children: children() };
    await run(200, 1000);
    await eventually(() => (server.stagedoor.registry.size === 0 ? true : undefined), 5000);
    await new Promise((r) => setTimeout(r, 1000));
    const after = { fds: fdCount(), rss: process.memoryUsage().rss, heap: await heapMiB(), children: children() };
    expect(server.stagedoor.hub.list()).toEqual([]);
    expect(server.stagedoor.hlsViewers.size).toBeLessThanOrEqual(220);
    expect(after.children).toBeLessThanOrEqual(before.children);
    expect(after.fds - before.fds).toBeLessThan(10);
    expect(after.heap - before.heap).toBeLessThan(8);
    const ends = server.logs.filter((l) => l.event === 'session_end' && /^live\/leak1\d{3}$/.test(String(l.stream)));
    expect(ends.filter((l) => l.kind === 'publisher').length).toBe(200);
    expect(ends.filter((l) => l.kind === 'publisher').every((l) => l.reason === 'expired')).toBe(true);
    expect(ends.filter((l) => l.kind === 'viewer').length).toBeGreaterThanOrEqual(150);
    expect(ends.filter((l) => l.kind === 'viewer').every((l) => l.reason === 'expired' || l.reason === 'publisher-gone')).toBe(true);
    console.log(`leaks: fds ${before.fds}→${after.fds}, heap ${before.heap.toFixed(1)}→${after.heap.toFixed(1)} MiB, rss ${(before.rss / 2 ** 20).toFixed(0)}→${(after.rss / 2 ** 20).toFixed(0)} MiB, children ${before.children}→${after.children}`);
  }, 120_000);
});
