// HTTPS/WSS and RTMPS with a self-signed certificate, driven by ffmpeg, ffprobe and a WebSocket client.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { probe, publish, type RunningProcess } from '../helpers/ffmpeg.js';
import { token } from '../helpers/tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'sd-tls-'));
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ],
  { stdio: 'ignore' },
);
const tls = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };

let server: TestServer;
let rtmpsPort: number;
let publisher: RunningProcess;

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, {
      http: { host: '127.0.0.1', port: 0, tls },
      rtmp: { host: '127.0.0.1', port: 0, tls: { ...tls, host: '127.0.0.1', port: 0 } },
    }),
  );
  rtmpsPort = Number(
    /127\.0\.0\.1:(\d+)/.exec(String(server.logs.find((l) => l.event === 'listening')?.rtmps))?.[1],
  );
}, 30_000);

afterAll(async () => {
  publisher?.stop();
  await server.stop();
});

describe('TLS', () => {
  it('the token tool prints https and rtmps addresses when TLS is configured', () => {
    const config = join(dir, 'tls-config.json');
    writeFileSync(
      config,
      JSON.stringify({
        http: { tls },
        rtmp: { tls: { ...tls, port: 1937 } },
        auth: {
          keys: [{ kid: 'hs', alg: 'HS256', secret: 'a-secret-of-at-least-32-bytes-for-hs256!' }],
        },
      }),
    );
    const run = spawnSync(
      process.execPath,
      [
        resolve('dist/cli.js'),
        'token',
        '--config',
        config,
        '--sub',
        'live/secure',
        '--scope',
        'publish play',
        '--host',
        'media.example',
      ],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('OBS server: rtmp://media.example:1935/live');
    expect(run.stderr).toContain('OBS server over TLS: rtmps://media.example:1937/live');
    expect(run.stderr).toMatch(
      /^Browser: https:\/\/media\.example:8080\/publish\.html#stream=live\/secure&token=/m,
    );
    expect(run.stderr).toMatch(
      /^HLS: https:\/\/media\.example:8080\/live\/secure\/index\.m3u8\?token=/m,
    );
  });

  it('publishes over RTMPS and plays HLS over HTTPS (self-signed certificate)', async () => {
    expect(rtmpsPort).toBeGreaterThan(0);
    publisher = publish(
      `rtmps://127.0.0.1:${rtmpsPort}/live/secure?token=${await token('live/secure', 'publish', 300)}`,
      60,
      '320x180',
    );
    await server.waitForLog(
      (l) => l.event === 'session_start' && l.stream === 'live/secure',
      15_000,
    );
    const play = await token('live/secure', 'play');
    const url = `https://127.0.0.1:${server.httpPort}/live/secure/index.m3u8?token=${play}`;
    const deadline = Date.now() + 20_000;
    let result = await probe(url, 10);
    while (result.streams.length < 2 && Date.now() < deadline) result = await probe(url, 10);
    expect(result.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    // Plain HTTP on the HTTPS port gets no playlist.
    const plain = await fetch(
      `http://127.0.0.1:${server.httpPort}/live/secure/index.m3u8?token=${play}`,
    ).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).not.toBe(200);
  });

  it('accepts a WebSocket publisher over WSS', async () => {
    const ws = new WebSocket(
      `wss://127.0.0.1:${server.httpPort}/ws/live/wss?token=${await token('live/wss', 'publish')}`,
      { rejectUnauthorized: false },
    );
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (d) => resolve(d.toString()));
      ws.once('error', reject);
    });
    expect(JSON.parse(first)).toMatchObject({ type: 'admitted' });
    ws.close();
  });
});
