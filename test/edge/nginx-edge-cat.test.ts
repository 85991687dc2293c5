// Common Access Tokens from the origin to the edge: Stagedoor writes a CAT (CTA-5007) on every
// segment, init and part URI (hls.passes.cdn format "cat") and the repo's nginx edge, told to
// verify CATs (deploy/nginx-edge/cat.js in njs), checks each one alone: hls.js in Chromium plays
// through it; tampered, other-stream, missing and expired CATs are refused at the edge without the
// origin; the published test vectors verify in real njs; a revoked viewer is refused at its next
// playlist reload and its CAT runs out within the pass window.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish, sleep, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { launchChromium } from '../helpers/browser.js';
import { nowSec, sign, token } from '../helpers/tokens.js';
import { startEdge, type Edge } from '../helpers/nginx-edge.js';
import type { CdnPassConfig } from '../../src/config/schema.js';

const EDGE_KEY = { kid: 'ek1', secret: 'edge-test-secret-0123456789abcdefghij' };
const CAT_KEY = { kid: 'cat1', key: randomBytes(32).toString('hex') };
const SEGMENT_PASS_SEC = 4;
const vectors = JSON.parse(readFileSync('deploy/nginx-edge/test-vectors.json', 'utf8')) as {
  cat: { kid: string; key: string; vectors: Array<{ dir: string; token: string }> };
};
let server: TestServer;
let edge: Edge;
let vectorEdge: Edge;
let publisher: RunningProcess;

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, {
      http: { trustedProxies: ['127.0.0.1'] },
      hls: {
        segmentSec: 1,
        renditions: [{ name: 'copy', copy: true }],
        passes: {
          edgeKeys: [EDGE_KEY],
          segmentPassSec: SEGMENT_PASS_SEC,
          cdn: { format: 'cat', ...CAT_KEY } as CdnPassConfig,
        },
      },
    }),
  );
  edge = await startEdge({
    originPort: server.httpPort,
    edgeKeys: [EDGE_KEY],
    cat: { keys: [CAT_KEY] },
  });
  vectorEdge = await startEdge({
    originPort: server.httpPort,
    edgeKeys: [EDGE_KEY],
    cat: { keys: [{ kid: vectors.cat.kid, key: vectors.cat.key }] },
  });
  publisher = publish(server.url('live/cat', await token('live/cat', 'publish', 600)), 300);
  const play = await token('live/cat', 'play');
  await eventually(
    async () =>
      (await fetch(edge.url(`/live/cat/copy.m3u8?token=${play}`))).status === 200
        ? true
        : undefined,
    30_000,
  );
  await sleep(2000);
}, 60_000);

afterAll(async () => {
  publisher?.stop();
  await edge?.stop();
  await vectorEdge?.stop();
  await server?.stop();
});

/** A viewer through the edge: its media playlist URL and the newest segment's URL. */
async function viewer(playToken: string) {
  const playlistUrl = edge.url(`/live/cat/copy.m3u8?token=${playToken}`);
  const media = await (await fetch(playlistUrl)).text();
  const segment = media
    .split('\n')
    .filter((l) => /^copy_s?\d+\.(ts|m4s)\?/.test(l))
    .at(-1)!;
  return { playlistUrl, segmentUrl: new URL(edge.url(`/live/cat/${segment}`)) };
}

const refusal = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error.message;

describe('the nginx edge verifying Common Access Tokens', () => {
  it('gets a CAT on every segment and part URI, and serves them', async () => {
    const { segmentUrl } = await viewer(await token('live/cat', 'play', 600));
    const cat = segmentUrl.searchParams.get('CAT');
    expect(cat).toMatch(/^2D3RhEOh[A-Za-z0-9_-]+$/); // tag 61, tag 17, protected {1: 5}
    const res = await fetch(segmentUrl);
    expect(res.status, edge.errors()).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it('plays in hls.js in Chromium', async () => {
    const play = await token('live/cat', 'play', 600);
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(edge.url(`/player.html#stream=live/cat&token=${play}`));
      const time = () =>
        page.evaluate(() => (document.getElementById('video') as HTMLVideoElement).currentTime);
      const start = await eventually(
        async () => ((await time()) > 0.5 ? time() : undefined),
        30_000,
      );
      await sleep(3000);
      expect(await time()).toBeGreaterThan(start + 1.5);
    } finally {
      await browser?.close();
    }
  }, 60_000);

  it('refuses tampered, other-stream, missing and expired CATs at the edge', async () => {
    const { segmentUrl } = await viewer(await token('live/cat', 'play', 600));
    expect((await fetch(segmentUrl)).status).toBe(200);
    const cat = segmentUrl.searchParams.get('CAT')!;
    const bytes = Buffer.from(cat, 'base64url');
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x10; // inside the MAC
    const tampered = new URL(segmentUrl);
    tampered.searchParams.set('CAT', bytes.toString('base64url'));
    const refused = await fetch(tampered);
    expect(refused.status).toBe(401);
    expect(await refusal(refused)).toContain('forged at the edge');
    const other = new URL(segmentUrl);
    other.pathname = other.pathname.replace('/live/cat/', '/live/cat2/');
    const otherRes = await fetch(other);
    expect(otherRes.status).toBe(401);
    expect(await refusal(otherRes)).toContain('other-path at the edge');
    const none = new URL(segmentUrl);
    none.searchParams.delete('CAT');
    expect(await refusal(await fetch(none))).toContain('missing at the edge');
    await sleep(SEGMENT_PASS_SEC * 1000 + 1000);
    const expired = await fetch(segmentUrl);
    expect(expired.status).toBe(401);
    expect(await refusal(expired)).toContain('expired at the edge');
  });

  it('refuses a revoked viewer at its next reload, and its CAT runs out within the window', async () => {
    const jti = `cat-edge-${randomBytes(4).toString('hex')}`;
    const play = await sign({ sub: 'live/cat', scope: 'play', jti, exp: nowSec() + 600 });
    const { playlistUrl, segmentUrl } = await viewer(play);
    expect((await fetch(segmentUrl)).status).toBe(200);
    const revoke = await fetch(`http://127.0.0.1:${server.adminPort}/api/v1/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'jti', value: jti }),
    });
    expect(revoke.status).toBe(201);
    expect((await fetch(playlistUrl)).status).toBe(401);
    await sleep(SEGMENT_PASS_SEC * 1000 + 1000);
    expect((await fetch(segmentUrl)).status).toBe(401);
  });

  it('verifies the published test vectors in njs: their directory passes the edge, another does not', async () => {
    for (const v of vectors.cat.vectors) {
      // The edge lets it through to the origin, which refuses it for its own reasons (no viewer).
      const inDir = await fetch(vectorEdge.url(`${v.dir}copy_s1.m4s?CAT=${v.token}`));
      expect(await refusal(inDir), vectorEdge.errors()).not.toContain('at the edge');
      const elsewhere = await fetch(vectorEdge.url(`/other/dir/copy_s1.m4s?CAT=${v.token}`));
      expect(elsewhere.status).toBe(401);
      expect(await refusal(elsewhere)).toContain('other-path at the edge');
    }
  });
});
