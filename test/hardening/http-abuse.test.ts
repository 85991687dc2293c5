// Hostile HTTP and WebSocket clients: oversized headers and URLs, slowloris, invalid UTF-8,
// broken upgrades and frames. The server answers or drops them and keeps serving others.
import { connect } from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { rawHttp } from '../helpers/http.js';
import { sleep } from '../helpers/ffmpeg.js';
import { token } from '../helpers/tokens.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, {
      http: { host: '127.0.0.1', port: 0, headersTimeoutSec: 2 },
      ws: { maxMessageBytes: 65536 },
    }),
  );
});
afterAll(async () => {
  await server.stop();
});

const healthy = async () =>
  expect((await fetch(`http://127.0.0.1:${server.httpPort}/healthz`)).status).toBe(200);
const statusOf = (answer: string) => Number(answer.slice(9, 12));

describe('HTTP abuse', () => {
  it('refuses oversized headers (431) and URLs, and stays up', async () => {
    const bigHeader = await rawHttp(
      server.httpPort,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(statusOf(bigHeader)).toBe(431);
    const longUrl = await rawHttp(
      server.httpPort,
      `GET /live/cam1/${'a'.repeat(100_000)}.ts HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect([404, 414, 431]).toContain(statusOf(longUrl));
    const manyHeaders = await rawHttp(
      server.httpPort,
      `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: y`).join('\r\n')}\r\n\r\n`,
    );
    expect([400, 431]).toContain(statusOf(manyHeaders));
    await healthy();
  });

  it('drops a slowloris client that never finishes its headers', async () => {
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: server.httpPort });
      socket.on('error', () => {});
      socket.on('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
      const drip = setInterval(() => !socket.destroyed && socket.write('X-Slow: 1\r\n'), 300);
      socket.on('close', () => {
        clearInterval(drip);
        resolve(Date.now() - started);
      });
      setTimeout(() => socket.destroy(), 15_000);
    });
    expect(closedAfter).toBeLessThan(6000);
    await healthy();
  });

  it('many slow connections at once do not block a normal client', async () => {
    const sockets = Array.from({ length: 200 }, () => {
      const s = connect({ host: '127.0.0.1', port: server.httpPort });
      s.on('error', () => {});
      s.on('connect', () => s.write('GET / HTTP/1.1\r\n'));
      return s;
    });
    await sleep(200);
    await healthy();
    for (const s of sockets) s.destroy();
  });

  it('answers invalid UTF-8 and control bytes in paths and headers without failing', async () => {
    for (const path of [
      '/live/%C3%28/index.m3u8',
      '/live/cam1/%FF%FE.ts',
      '/%00/%00/%00',
      '/live/cam1/index.m3u8?token=%E0%80%80',
      '/ws/%FF/%FE',
    ]) {
      const answer = await rawHttp(
        server.httpPort,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect([400, 401, 404]).toContain(statusOf(answer));
    }
    const rawBytes = Buffer.concat([
      Buffer.from('GET /live/cam1/index.m3u8 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer '),
      Buffer.from([0xc3, 0x28, 0xff, 0x00]),
      Buffer.from('\r\n\r\n'),
    ]);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: server.httpPort });
      let text = '';
      socket.on('data', (d) => (text += d.toString('latin1')));
      socket.on('error', () => {});
      socket.on('close', () => resolve(text));
      socket.on('connect', () => socket.write(rawBytes));
      setTimeout(() => socket.destroy(), 2000);
    });
    expect([400, 401]).toContain(statusOf(answer));
    await healthy();
  });
});

describe('WebSocket abuse', () => {
  it('refuses broken upgrades without taking the server down', async () => {
    const publishToken = await token('live/wsabuse', 'publish');
    const bad = [
      `GET /ws/live/wsabuse?token=${publishToken} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`, // no key
      `GET /ws/live/wsabuse?token=${publishToken} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 99\r\n\r\n`,
      'GET /ws/live/a%20b HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      'GET /ws/live/%E0%A4%A HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    ];
    for (const request of bad) {
      const answer = await rawHttp(server.httpPort, request);
      expect(statusOf(answer)).not.toBe(101);
    }
    await healthy();
    expect(server.stagedoor.registry.list().filter((s) => s.protocol === 'ws')).toEqual([]);
  });

  it('closes a publisher that sends an oversized frame (1009) or invalid UTF-8 text (1007)', async () => {
    for (const [payload, binary, expected] of [
      [Buffer.alloc(200_000), true, 1009],
      [Buffer.from([0xc3, 0x28]), false, 1007],
    ] as const) {
      const ws = new WebSocket(
        `ws://127.0.0.1:${server.httpPort}/ws/live/frames?token=${await token('live/frames', 'publish')}`,
      );
      await new Promise((r) => ws.once('open', r));
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      ws.on('error', () => {});
      // Bypass the client's own UTF-8 check by sending a raw frame.
      const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
      const header =
        payload.length < 126
          ? Buffer.from([binary ? 0x82 : 0x81, 0x80 | payload.length])
          : Buffer.from([
              0x82,
              0x80 | 127,
              0,
              0,
              0,
              0,
              (payload.length >>> 24) & 0xff,
              (payload.length >>> 16) & 0xff,
              (payload.length >>> 8) & 0xff,
              payload.length & 0xff,
            ]);
      socket.write(Buffer.concat([header, Buffer.alloc(4), payload]));
      const code = await Promise.race([closed, sleep(3000).then(() => -1)]);
      expect([expected, 1006]).toContain(code);
      ws.terminate();
    }
    await eventually(() =>
      server.stagedoor.registry.list().some((s) => s.protocol === 'ws') ? undefined : true,
    );
    await healthy();
  });
});

async function eventually<T>(fn: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = fn();
    if (v !== undefined) return v;
    await sleep(50);
  }
  throw new Error('condition not met');
}
