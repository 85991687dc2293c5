// Seeded RTMP fuzzing against the live server: a real publisher's byte stream, mutated (bit
// flips, truncations, duplicated and inserted bytes, odd segmentation) over many connections for a
// bounded time. The server must stay up, leak no session, and serve a real publisher afterwards.
import { connect } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { clientSessionBytes } from '../helpers/raw-rtmp-client.js';
import { makeSampleFlv, readFlvTags } from '../helpers/flv.js';
import { probe, publish, sleep } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { token } from '../helpers/tokens.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const DURATION_MS = Number(process.env.FUZZ_MS ?? 8000);
const CONCURRENCY = 8;

/** xorshift32: the same seed replays the same run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

function mutate(template: Buffer, random: () => number): Buffer {
  const out = Buffer.from(template);
  const pick = (n: number) => Math.floor(random() * n);
  switch (pick(6)) {
    case 0: // bit flips after the handshake
      for (let i = 0, n = 1 + pick(20); i < n; i++) {
        const at = 3073 + pick(out.length - 3073);
        out[at]! ^= 1 << pick(8);
      }
      return out;
    case 1: // truncation anywhere
      return out.subarray(0, pick(out.length));
    case 2: // random bytes inserted
      return Buffer.concat([
        out.subarray(0, 3073 + pick(out.length - 3073)),
        Buffer.from(Array.from({ length: 1 + pick(64) }, () => pick(256))),
        out.subarray(3073 + pick(out.length - 3073)),
      ]);
    case 3: {
      // a slice duplicated
      const from = 3073 + pick(out.length - 3073);
      return Buffer.concat([out, out.subarray(from, from + pick(4096))]);
    }
    case 4: // header bytes overwritten with extremes
      for (let i = 0, n = 1 + pick(8); i < n; i++)
        out[3073 + pick(Math.min(600, out.length - 3073))] = [0, 0xff, 0x7f, 0x80, 0x3f][pick(5)]!;
      return out;
    default: // pure noise after a valid handshake
      return Buffer.concat([
        out.subarray(0, 3073),
        Buffer.from(Array.from({ length: pick(8192) }, () => pick(256))),
      ]);
  }
}

function send(port: number, bytes: Buffer, random: () => number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
    socket.resume();
    // Odd segmentation: the parser must not depend on how bytes arrive.
    const writeInPieces = async (): Promise<void> => {
      let at = 0;
      while (at < bytes.length && !socket.destroyed) {
        const size = 1 + Math.floor(random() * 3000);
        socket.write(bytes.subarray(at, at + size));
        at += size;
        if (random() < 0.1) await sleep(1);
      }
      setTimeout(() => socket.destroy(), 50 + Math.floor(random() * 200));
    };
    socket.on('connect', () => {
      writeInPieces().catch(() => socket.destroy());
    });
  });
}

let server: TestServer;
let template: Buffer;

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, { hls: { enabled: false }, rtmp: { admissionTimeoutSec: 2 } }),
  );
  const tags = readFlvTags(makeSampleFlv(mkdtempSync(join(tmpdir(), 'sd-fuzz-')), 1)).slice(0, 30);
  template = clientSessionBytes(
    'live',
    `fuzz?token=${await token('live/fuzz', 'publish', 600)}`,
    tags,
  );
});

afterAll(async () => {
  await server.stop();
});

describe('RTMP fuzzing', () => {
  it(`survives ${DURATION_MS} ms of mutated sessions (seed ${SEED}) and serves a real publisher after`, async () => {
    const random = rng(SEED);
    const deadline = Date.now() + DURATION_MS;
    let sent = 0;
    const workers = Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        await send(server.rtmpPort, mutate(template, random), random);
        sent++;
      }
    });
    await Promise.all(workers);
    expect(sent).toBeGreaterThan(50);
    // Every fuzzing connection is gone, and no session outlived its socket.
    await eventually(
      () => (server.stagedoor.registry.list().length === 0 ? true : undefined),
      5000,
    );
    const publisher = publish(
      server.url('live/after', await token('live/after', 'publish')),
      20,
      '320x180',
    );
    try {
      await server.waitForLog(
        (l) => l.event === 'session_start' && l.stream === 'live/after',
        10_000,
      );
      await sleep(1200);
      const result = await probe(server.url('live/after', await token('live/after', 'play')));
      expect(result.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    } finally {
      publisher.stop();
    }
    const errors = server.logs.filter((l) => l.level >= 50);
    expect(errors.map((l) => l.msg)).toEqual([]);
  }, 60_000);
});
