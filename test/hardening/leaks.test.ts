// 200 publish / play / expire cycles: sessions, streams, sockets, file descriptors, child
// processes and memory must come back to where they were.
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { eventually, rawGet } from '../helpers/http.js';
import { sign } from '../helpers/tokens.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer(testConfig(undefined, { hls: { viewerIdleSec: 0.5 } }));
});
afterAll(async () => {
  await server.stop();
});

/** Open descriptors by kind ("socket", "pipe", "anon_inode:[eventpoll]", a path…), for a readable failure. */
function openFds(): Map<string, number> {
  const kinds = new Map<string, number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`).replace(/:\[\d+\]$/, '');
    } catch {
      continue; // the directory listing's own descriptor, closed by now
    }
    kinds.set(target, (kinds.get(target) ?? 0) + 1);
  }
  return kinds;
}
const total = (kinds: Map<string, number>) => [...kinds.values()].reduce((a, b) => a + b, 0);
function grown(before: Map<string, number>, after: Map<string, number>): string {
  return [...after]
    .filter(([kind, n]) => n > (before.get(kind) ?? 0))
    .map(([kind, n]) => `${kind} ${before.get(kind) ?? 0}→${n}`)
    .join(', ');
}
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
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return (
          readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] ===
          String(process.pid)
        );
      } catch {
        return false;
      }
    }).length;

async function cycle(i: number): Promise<void> {
  const name = `leak${i}`;
  // Short lifetimes, so that 200 cycles end by expiry. On a loaded machine a client may arrive after
  // its token's exp and be refused: that is fine, the assertions below are invariants (every session
  // that started ended, for an allowed reason, and left nothing behind), not counts reached in time.
  // Each token's lifetime starts when its client is about to use it, not when the cycle began.
  const exp = () => (Date.now() + 1500) / 1000;
  const publisher = await RawRtmpClient.open(server.rtmpPort);
  await publisher.handshake();
  publisher.connectApp('live');
  publisher.publish(
    `${name}?token=${await sign({ sub: `live/${name}`, scope: 'publish play', exp: exp() }, { kid: 'hs' })}`,
  );
  await publisher.waitForStatus(
    (s) => s.code === 'NetStream.Publish.Start' || s.level === 'error',
    10_000,
  );
  publisher.sendMedia(0);
  const player = await RawRtmpClient.open(server.rtmpPort);
  await player.handshake();
  player.connectApp('live');
  player.play(
    `${name}?token=${await sign({ sub: `live/${name}`, scope: 'play', exp: exp() }, { kid: 'hs' })}`,
  );
  const hlsToken = await sign(
    { sub: 'live/static', scope: 'play', exp: (Date.now() + 2000) / 1000 },
    { kid: 'hs' },
  );
  // `Connection: close`: a client keep-alive pool would hold sockets open in this very process and
  // blur the descriptor count by however many connections it happened to keep.
  const answer = await rawGet(
    server.httpPort,
    new URL(server.hlsUrl('live/static', hlsToken)).pathname + `?token=${hlsToken}`,
    30_000,
  );
  expect(answer.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 (200 OK|401 Unauthorized)$/);
  // Both are cut at expiry (or were refused as expired, and dropped).
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
    const before = {
      fds: openFds(),
      rss: process.memoryUsage().rss,
      heap: await heapMiB(),
      children: children(),
    };
    await run(200, 1000);
    await eventually(() => (server.stagedoor.registry.size === 0 ? true : undefined), 5000);
    await new Promise((r) => setTimeout(r, 1000));
    const after = {
      fds: openFds(),
      rss: process.memoryUsage().rss,
      heap: await heapMiB(),
      children: children(),
    };
    expect(server.stagedoor.hub.list()).toEqual([]);
    expect(server.stagedoor.hlsViewers.size).toBeLessThanOrEqual(220);
    expect(after.children).toBeLessThanOrEqual(before.children);
    expect(
      total(after.fds) - total(before.fds),
      `descriptors grew: ${grown(before.fds, after.fds)}`,
    ).toBeLessThan(5);
    expect(after.heap - before.heap).toBeLessThan(8);
    const ofRun = (event: string) =>
      server.logs.filter((l) => l.event === event && /^live\/leak1\d{3}$/.test(String(l.stream)));
    const starts = ofRun('session_start');
    const ends = ofRun('session_end');
    // Every session that started ended, and for a reason that fits: nothing was left open.
    expect(ends.length).toBe(starts.length);
    expect(new Set(ends.map((l) => l.sessionId))).toEqual(new Set(starts.map((l) => l.sessionId)));
    expect(ends.filter((l) => l.kind === 'publisher').every((l) => l.reason === 'expired')).toBe(
      true,
    );
    expect(
      ends
        .filter((l) => l.kind === 'viewer')
        .every((l) => l.reason === 'expired' || l.reason === 'publisher-gone'),
    ).toBe(true);
    // And the run did exercise both kinds (however many a loaded machine got in before exp).
    expect(
      starts.some((l) => l.kind === 'publisher') && starts.some((l) => l.kind === 'viewer'),
    ).toBe(true);
    const refused = ofRun('access_refused');
    expect(refused.every((l) => l.code === 'TOKEN_EXPIRED')).toBe(true);
    // Every one of the 200 publishers is accounted for exactly once: admitted (and then ended, above)
    // or refused because a loaded machine let its 1.5 s token lapse before it arrived. Fewer than 200
    // publisher session_end lines means that many refusals, never a session left open.
    for (let i = 1000; i < 1200; i++) {
      const stream = `live/leak${i}`;
      const admitted = starts.filter((l) => l.kind === 'publisher' && l.stream === stream).length;
      const refusedPublish = refused.filter(
        (l) => l.action === 'publish' && l.stream === stream,
      ).length;
      expect(admitted + refusedPublish, stream).toBe(1);
    }
    console.log(
      `leaks: ${starts.filter((l) => l.kind === 'publisher').length} publishers, ${starts.filter((l) => l.kind === 'viewer').length} players admitted (${refused.length} refused as expired); fds ${total(before.fds)}→${total(after.fds)}, heap ${before.heap.toFixed(1)}→${after.heap.toFixed(1)} MiB, rss ${(before.rss / 2 ** 20).toFixed(0)}→${(after.rss / 2 ** 20).toFixed(0)} MiB, children ${before.children}→${after.children}`,
    );
  }, 120_000);
});
