import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish, probe, sleep, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { token } from '../helpers/tokens.js';

let server: TestServer;
let publisher: RunningProcess;
let playToken: string;

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, { hls: { encryption: { enabled: true, rotateEverySegments: 2 } } }),
  );
  publisher = publish(
    server.url('live/enc', await token('live/enc', 'publish', 600)),
    120,
    '320x180',
  );
  playToken = await token('live/enc', 'play', 600);
  await eventually(
    async () =>
      (await fetch(server.hlsUrl('live/enc', playToken))).status === 200 ? true : undefined,
    20_000,
  );
  await sleep(5000); // long enough for the key to rotate at least once
}, 40_000);

afterAll(async () => {
  publisher?.stop();
  await server.stop();
});

async function mediaPlaylist(): Promise<{ base: string; text: string }> {
  const master = await (await fetch(server.hlsUrl('live/enc', playToken))).text();
  const variant = master.split('\n').find((l) => l.startsWith('copy.m3u8'))!;
  const base = `http://127.0.0.1:${server.httpPort}/live/enc/`;
  return { base, text: await (await fetch(base + variant)).text() };
}

describe('AES-128 segment encryption', () => {
  it('lists rotating keys whose URIs carry the viewer pass', async () => {
    const { text } = await mediaPlaylist();
    const keyUris = [...text.matchAll(/#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)"/g)].map(
      (m) => m[1]!,
    );
    expect(keyUris.length).toBeGreaterThan(0);
    expect(keyUris.every((u) => /^k\d{5}\.key\?vs=/.test(u))).toBe(true);
    expect(new Set(keyUris.map((u) => u.split('?')[0])).size).toBeGreaterThan(1);
  });

  it('plays with a token: ffprobe decodes through the key URIs', async () => {
    const result = await probe(server.hlsUrl('live/enc', playToken), 20);
    expect(result.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
  });

  it('a segment fetched without its key is undecodable', async () => {
    const { base, text } = await mediaPlaylist();
    const segment = text.split('\n').find((l) => /^copy_\d+\.ts\?vs=/.test(l))!;
    const bytes = Buffer.from(await (await fetch(base + segment)).arrayBuffer());
    expect(bytes.length).toBeGreaterThan(1000);
    expect(bytes[0]).not.toBe(0x47); // not even an MPEG-TS sync byte
    const file = join(mkdtempSync(join(tmpdir(), 'sd-enc-')), 'stolen.ts');
    writeFileSync(file, bytes);
    const ffprobe = spawnSync(
      'ffprobe',
      ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv', file],
      { encoding: 'utf8' },
    );
    expect(ffprobe.stdout).not.toMatch(/h264|aac/);
  });

  it('the key URL refuses an unauthorised request', async () => {
    const { base, text } = await mediaPlaylist();
    const keyUri = /URI="([^"]+)"/.exec(text)![1]!;
    const keyName = keyUri.split('?')[0]!;
    const authorised = await fetch(base + keyUri);
    expect(authorised.status).toBe(200);
    expect(authorised.headers.get('cache-control')).toBe('private, no-store');
    expect((await authorised.arrayBuffer()).byteLength).toBe(16);
    const bare = await fetch(base + keyName);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { code: string } }).error.code).toBe('TOKEN_MISSING');
    const wrongStream = await fetch(`${base + keyName}?token=${await token('live/other', 'play')}`);
    expect(wrongStream.status).toBe(403);
  });
});
