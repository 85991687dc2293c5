// hls.js in headless Chromium, given only the master URL with ?token=, as a web page would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish, sleep, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { launchChromium } from '../helpers/browser.js';
import { sign, token } from '../helpers/tokens.js';

let server: TestServer;
let publisher: RunningProcess;
let browser: Browser;

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, { hls: { renditions: [{ name: 'copy', copy: true }] } }),
  );
  publisher = publish(
    server.url('live/web', await token('live/web', 'publish', 600)),
    120,
    '640x360',
  );
  const probeToken = await token('live/web', 'play');
  await eventually(
    async () =>
      (await fetch(server.hlsUrl('live/web', probeToken))).status === 200 ? true : undefined,
    20_000,
  );
  await sleep(2000);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  publisher?.stop();
  await server.stop();
});

interface PlayerState {
  currentTime: number;
  refusal: { status: number; code?: string } | undefined;
  text: string;
}

/** Opens Stagedoor's own player page (hls.js) with the stream and token in the URL fragment. */
async function openPlayer(stream: string, playToken: string) {
  const page = await browser.newPage();
  const workers: string[] = [];
  const blocked: string[] = [];
  page.on('worker', (worker) => workers.push(worker.url()));
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
  });
  await page.goto(
    `http://127.0.0.1:${server.httpPort}/player.html#stream=${stream}&token=${playToken}`,
  );
  const state = (): Promise<PlayerState> =>
    page.evaluate(() => {
      const w = window as unknown as { stagedoorRefusal?: PlayerState['refusal'] };
      const video = document.getElementById('video') as HTMLVideoElement;
      return {
        currentTime: video.currentTime,
        refusal: w.stagedoorRefusal,
        text: document.getElementById('state')!.textContent ?? '',
      };
    });
  return { page, state, workers, blocked };
}

describe('hls.js in Chromium', () => {
  it('plays index.m3u8?token=… and currentTime advances, demuxing in a worker the page allows', async () => {
    const { page, state, workers, blocked } = await openPlayer(
      'live/web',
      await token('live/web', 'play', 600),
    );
    const first = await eventually(
      async () => ((await state()).currentTime > 0.5 ? state() : undefined),
      20_000,
    );
    // Playback advances by more than a second of media; on a loaded machine that can take longer
    // than a second of wall time, so wait for it (bounded) rather than for a fixed sleep.
    const later = await eventually(async () => {
      const s = await state();
      return s.currentTime > first.currentTime + 1 ? s : undefined;
    }, 20_000);
    expect(later.refusal).toBeUndefined();
    expect(later.text).toMatch(/^Playing live\/web · \d+ min left on the token$/);
    // hls.js transmuxes in a blob: worker when the page's CSP lets it (worker-src blob:).
    expect(workers.some((url) => url.startsWith('blob:'))).toBe(true);
    expect(blocked).toEqual([]);
    await page.close();
  });

  it('a new token typed into the page before exp keeps playback going past it, in the same viewer session', async () => {
    // Room for a loaded machine: Chromium and hls.js must be playing, and the new token typed in,
    // before the first token's exp (5 s was not always enough with a core kept busy).
    const exp = Date.now() + 15_000;
    const short = await sign(
      { sub: 'live/web', scope: 'play', exp: exp / 1000, jti: 'player-1' },
      { kid: 'hs' },
    );
    const { page, state } = await openPlayer('live/web', short);
    await eventually(async () => ((await state()).currentTime > 0.5 ? true : undefined), 20_000);
    await eventually(async () =>
      (await state()).text === 'Playing live/web · less than a minute left on the token'
        ? true
        : undefined,
    );
    const session = server.stagedoor.registry.list().find((s) => s.grant.jti === 'player-1')!;
    // As a user would: paste the new token and press Play.
    const fresh = await sign(
      { sub: 'live/web', scope: 'play', exp: (Date.now() + 60_000) / 1000, jti: 'player-2' },
      { kid: 'hs' },
    );
    await page.fill('#token', fresh);
    await page.click('#play');
    await eventually(() => (session.grant.jti === 'player-2' ? true : undefined), 10_000);
    await sleep(Math.max(0, exp - Date.now()) + 2000);
    const before = (await state()).currentTime;
    const after = await eventually(async () => {
      const s = await state();
      return s.refusal || s.currentTime > before + 1 ? s : undefined;
    }, 20_000);
    expect(after.refusal).toBeUndefined();
    expect(after.currentTime).toBeGreaterThan(before + 1);
    expect(session.closed).toBe(false);
    await page.close();
  }, 60_000);

  it('stops after the token expires and the page sees the 401', async () => {
    const exp = Date.now() + 12_000; // playing before exp, on a loaded machine too
    const short = await sign({ sub: 'live/web', scope: 'play', exp: exp / 1000 }, { kid: 'hs' });
    const { page, state } = await openPlayer('live/web', short);
    await eventually(async () => ((await state()).currentTime > 0.5 ? true : undefined), 20_000);
    const refused = await eventually(async () => {
      const s = await state();
      return s.refusal ? s : undefined;
    }, 20_000);
    expect(Date.now()).toBeGreaterThan(exp);
    expect(refused.refusal).toEqual({ status: 401, code: 'TOKEN_EXPIRED' });
    expect(refused.text).toBe(
      'Your token has expired. Paste a new token in the token field above and press Play.',
    );
    // Playback halts: whatever was buffered before exp plays out, then the video pauses (no
    // spinner waiting for media that will not come) and time stands still.
    await page.waitForFunction(
      () => (document.getElementById('video') as HTMLVideoElement).paused,
      undefined,
      { timeout: 20_000 },
    );
    const stalledAt = await eventually(async () => {
      const a = (await state()).currentTime;
      await sleep(1500);
      const b = (await state()).currentTime;
      return b === a ? b : undefined;
    }, 20_000);
    expect(stalledAt).toBeGreaterThan(0);
    await page.close();
  }, 60_000);
});
