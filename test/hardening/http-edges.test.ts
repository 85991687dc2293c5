// Issue #15 (14, 15): malformed cookies are a token error, not a server error; HEAD answers the
// length GET sends. And a media file that vanishes between lookup and read is a 404, not a 500.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { token } from '../helpers/tokens.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer(testConfig());
  const dir = join(server.mediaDir, 'live', 'edge');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'index.m3u8'),
    '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg0.ts\n',
  );
  writeFileSync(join(dir, 'seg0.ts'), Buffer.alloc(5000, 0x47));
  writeFileSync(join(dir, 'k0.key'), Buffer.alloc(16, 1));
});
afterAll(async () => {
  await server.stop();
});

const url = (file: string, t: string) =>
  `http://127.0.0.1:${server.httpPort}/live/edge/${file}?token=${t}`;

describe('HTTP edges', () => {
  it.each(['%', '%E0%A4%A', 'abc%zz', '%%%'])(
    'a stagedoor_token cookie %s is 401 TOKEN_MALFORMED',
    async (value) => {
      const res = await fetch(`http://127.0.0.1:${server.httpPort}/live/edge/index.m3u8`, {
        headers: { cookie: `stagedoor_token=${value}` },
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'TOKEN_MALFORMED',
      );
    },
  );

  it('HEAD on a segment, a key and a playlist answers the Content-Length of GET, without a body', async () => {
    const t = await token('live/edge', 'play');
    for (const [file, size] of [
      ['seg0.ts', 5000],
      ['k0.key', 16],
    ] as const) {
      const head = await fetch(url(file, t), { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(size));
      expect((await head.arrayBuffer()).byteLength).toBe(0);
      const get = await fetch(url(file, t));
      expect(get.headers.get('content-length')).toBe(String(size));
    }
    const playlistHead = await fetch(url('index.m3u8', t), { method: 'HEAD' });
    const playlistGet = await fetch(url('index.m3u8', t));
    expect(playlistHead.headers.get('content-length')).toBe(
      String((await playlistGet.text()).length),
    );
  });

  it('a file removed right after it was served is a 404, not a 500', async () => {
    const t = await token('live/edge', 'play');
    expect((await fetch(url('index.m3u8', t))).status).toBe(200);
    rmSync(join(server.mediaDir, 'live', 'edge', 'index.m3u8'));
    const res = await fetch(url('index.m3u8', t));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });
});
