// Issue #15 (7): before any token is checked, an RTMP client may send only small command messages on
// a handful of chunk streams, and idle unauthenticated connections are capped per address and in all,
// so a flood from one address neither reserves memory nor keeps a publisher from elsewhere out.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { eventually } from '../helpers/http.js';
import { publish } from '../helpers/ffmpeg.js';
import { token } from '../helpers/tokens.js';

let server: TestServer;
const PER_ADDRESS = 16;

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, {
      rtmp: {
        host: '127.0.0.1',
        port: 0,
        maxPendingPerAddress: PER_ADDRESS,
        admissionTimeoutSec: 60,
      },
    }),
  );
});
afterAll(async () => {
  await server.stop();
});

/** A chunk header (fmt 0) declaring a message of `length` bytes of type 20 (command) on chunk stream `cid`. */
function declare(cid: number, length: number): Buffer {
  return Buffer.from([
    cid & 0x3f,
    0,
    0,
    0,
    (length >> 16) & 0xff,
    (length >> 8) & 0xff,
    length & 0xff,
    20,
    0,
    0,
    0,
    0,
  ]);
}

/** Opens a raw connection from `localAddress`, completes the handshake, and sends `after`. */
async function attacker(
  localAddress: string,
  after: Buffer,
): Promise<{ socket: Socket; closed: Promise<void> }> {
  const client = await RawRtmpClient.open(server.rtmpPort, { localAddress });
  await Promise.race([client.handshake(), client.closed]);
  if (!client.socket.destroyed) client.socket.write(after);
  return { socket: client.socket, closed: client.closed.then(() => undefined) };
}

describe('unauthenticated RTMP clients', () => {
  it('may not declare large messages or many chunk streams before admission', async () => {
    const big = await attacker(
      '127.0.0.3',
      Buffer.concat(Array.from({ length: 4 }, (_, i) => declare(3 + i, 8 * 1024 * 1024))),
    );
    await big.closed;
    // Chunks of 128 bytes, then a message begun (not finished) on each of 40 chunk streams.
    const chunkSize128 = Buffer.from([0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0, 0, 0, 128]);
    const many = await attacker(
      '127.0.0.3',
      Buffer.concat([
        chunkSize128,
        ...Array.from({ length: 40 }, (_, i) =>
          Buffer.concat([declare(3 + i, 1024), Buffer.alloc(128)]),
        ),
      ]),
    );
    await many.closed;
    const errors = server.logs
      .filter((l) => l.event === 'protocol_error')
      .map((l) => String(l.reason));
    expect(errors.some((r) => /exceeds 16384/.test(r))).toBe(true);
    expect(errors.some((r) => /too many chunk streams/.test(r))).toBe(true);
  });

  it('are capped per address; a publisher from elsewhere is admitted during a flood of 200', async () => {
    // 200 connections from one address that complete the handshake and then say nothing.
    const flood = await Promise.all(
      Array.from({ length: 200 }, () =>
        attacker('127.0.0.2', Buffer.alloc(0)).catch(() => undefined),
      ),
    );
    const open = () => flood.filter((c) => c && !c.socket.destroyed).length;
    await eventually(() => (open() <= PER_ADDRESS ? true : undefined), 10_000, 50);
    expect(open()).toBe(PER_ADDRESS);
    expect(server.logs.some((l) => l.event === 'rtmp_pending_limit')).toBe(true);

    // A real publisher from 127.0.0.1 gets in while the flood holds its places.
    const started = Date.now();
    const ffmpeg = publish(
      `rtmp://127.0.0.1:${server.rtmpPort}/live/floodproof?token=${await token('live/floodproof', 'publish')}`,
      20,
    );
    const admitted = await server.waitForLog(
      (l) => l.event === 'session_start' && l.stream === 'live/floodproof',
      20_000,
    );
    console.log(
      `rtmp flood: publisher admitted ${Date.parse(String(admitted.time)) - started} ms after ffmpeg started, with ${open()} flood connections held`,
    );
    expect(admitted.kind).toBe('publisher');
    ffmpeg.stop();
    await ffmpeg.exited;
    for (const c of flood) c?.socket.destroy();
    await eventually(() => (server.stagedoor.registry.size === 0 ? true : undefined), 5000, 50);
  }, 60_000);

  it('a flood of 200 connections each declaring 8 MiB messages on 64 chunk streams reserves no memory', async () => {
    const gc = (globalThis as { gc?: () => void }).gc!;
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const chunkSize128 = Buffer.from([0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0, 0, 0, 128]);
    const declaring = Buffer.concat([
      chunkSize128,
      ...Array.from({ length: 64 }, (_, i) =>
        Buffer.concat([declare(3 + (i % 60), 8 * 1024 * 1024), Buffer.alloc(128)]),
      ),
    ]);
    const flood = await Promise.all(
      Array.from({ length: 200 }, () => attacker('127.0.0.4', declaring).catch(() => undefined)),
    );
    await new Promise((r) => setTimeout(r, 500));
    gc();
    const held = process.memoryUsage().arrayBuffers;
    // Upstream allocates each declared message at header time and keeps it for the connection:
    // 200 × 64 × 8 MiB. Here the first oversized header ends the connection before any allocation.
    // (A margin for whatever else the process holds at that moment: the attack alone would be GiBs.)
    expect((held - before) / 2 ** 20).toBeLessThan(256);
    await Promise.all(flood.flatMap((c) => (c ? [c.closed] : [])));
  }, 60_000);

  it('the pending count comes back to zero, so the address is not locked out afterwards', async () => {
    const client = await RawRtmpClient.open(server.rtmpPort, { localAddress: '127.0.0.2' });
    await client.handshake();
    client.connectApp('live');
    client.publish(`again?token=${await token('live/again', 'publish')}`);
    expect((await client.waitForStatus(() => true))?.code).toBe('NetStream.Publish.Start');
    client.destroy();
  });
});
