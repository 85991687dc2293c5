// Stagedoor's player page as a viewer meets it, in headless Chromium: a refused token stops the page
// and says in words what happened and what to do; a stream not live yet is retried until it plays;
// the token is masked, the time left is in minutes, the icon is served and no request fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { launchChromium } from '../helpers/browser.js';
import { nowSec, sign, token } from '../helpers/tokens.js';

let server: TestServer;
let publisher: RunningProcess;
let browser: Browser;

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, { hls: { renditions: [{ name: 'copy', copy: true }] } }),
  );
  publisher = publish(
    server.url('live/page', await token('live/page', 'publish', 600)),
    180,
    '640x360',
  );
  const probeToken = await token('live/page', 'play');
  await eventually(
    async () =>
      (await fetch(server.hlsUrl('live/page', probeToken))).status === 200 ? true : undefined,
    20_000,
  );
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  publisher?.stop();
  await server.stop();
});

interface PageState {
  /** The page's own state: idle, loading, refreshed, retrying, refused, failed. */
  state: string;
  text: string;
  busy: boolean;
  paused: boolean;
  currentTime: number;
  refusal: { status: number; code?: string } | undefined;
  /** The id of the focused element. */
  focused: string | undefined;
}

async function openPlayer(stream: string, playToken: string, watch?: (page: Page) => void) {
  const page = await browser.newPage();
  watch?.(page);
  await page.goto(
    `http://127.0.0.1:${server.httpPort}/player.html#stream=${stream}&token=${playToken}`,
  );
  const read = (): Promise<PageState> =>
    page.evaluate(() => {
      const w = window as unknown as {
        stagedoorRefusal?: PageState['refusal'];
        stagedoorPlayer: { state: string };
      };
      const video = document.getElementById('video') as HTMLVideoElement;
      const state = document.getElementById('state')!;
      return {
        state: w.stagedoorPlayer.state,
        text: state.textContent ?? '',
        busy: state.classList.contains('busy'),
        paused: video.paused,
        currentTime: video.currentTime,
        refusal: w.stagedoorRefusal,
        focused: document.activeElement?.id,
      };
    });
  return { page, read };
}

/** Opens the page with a token the server refuses, and returns what the page ends up saying. */
async function refusedWith(stream: string, playToken: string): Promise<PageState> {
  const { page, read } = await openPlayer(stream, playToken);
  try {
    return await eventually(async () => {
      const s = await read();
      return s.state === 'refused' && s.refusal ? s : undefined;
    }, 15_000);
  } finally {
    await page.close();
  }
}

describe('the player page', () => {
  it('on an expired token: stops and says to paste a new token in the field', async () => {
    const expired = await sign(
      { sub: 'live/page', scope: 'play', exp: nowSec() - 60, iat: nowSec() - 120 },
      { kid: 'hs' },
    );
    const refused = await refusedWith('live/page', expired);
    expect(refused.refusal).toEqual({ status: 401, code: 'TOKEN_EXPIRED' });
    expect(refused.text).toBe(
      'Your token has expired. Paste a new token in the token field above and press Play.',
    );
    expect(refused.busy).toBe(false);
    expect(refused.paused).toBe(true);
    expect(refused.focused).toBe('token'); // where the new one goes
  });

  it('on a revoked token: stops and says to contact whoever gave it', async () => {
    const revoked = await sign(
      { sub: 'live/page', scope: 'play', exp: nowSec() + 600, jti: 'page-revoked' },
      { kid: 'hs' },
    );
    const res = await fetch(`http://127.0.0.1:${server.adminPort}/api/v1/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'jti', value: 'page-revoked', reason: 'test' }),
    });
    expect(res.status).toBe(201);
    const refused = await refusedWith('live/page', revoked);
    expect(refused.refusal).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    expect(refused.text).toBe(
      'This token has been revoked. Contact whoever gave it to you for a new one.',
    );
    expect(refused.busy).toBe(false);
  });

  it("on another stream's token: says the token is for another stream", async () => {
    const refused = await refusedWith('live/page', await token('live/elsewhere', 'play', 600));
    expect(refused.refusal).toEqual({ status: 403, code: 'STREAM_DENIED' });
    expect(refused.text).toMatch(/^This token is for another stream, not live\/page\./);
  });

  it('a stream not live yet: says so, retries waiting longer each time, and plays once the publisher starts', async () => {
    const masters: string[] = [];
    const { page, read } = await openPlayer(
      'live/later',
      await token('live/later', 'play', 600),
      (p) =>
        p.on('request', (request) => {
          if (request.url().includes('/live/later/index.m3u8')) masters.push(request.url());
        }),
    );
    let late: RunningProcess | undefined;
    try {
      const waiting = await eventually(async () => {
        const s = await read();
        return s.state === 'retrying' ? s : undefined;
      }, 15_000);
      expect(waiting.text).toMatch(/^live\/later is not live yet — retrying in \d+ s$/);
      expect(waiting.busy).toBe(true);
      // The delay doubles (1, 2, 4 … s): the third wait is announced as 4 s or more.
      await eventually(async () => {
        const m = /retrying in (\d+) s/.exec((await read()).text);
        return m && Number(m[1]) >= 4 ? true : undefined;
      }, 30_000);
      expect(masters.length).toBeGreaterThanOrEqual(3);

      late = publish(
        server.url('live/later', await token('live/later', 'publish', 600)),
        120,
        '640x360',
      );
      const playing = await eventually(
        async () => {
          const s = await read();
          return s.currentTime > 0.5 ? s : undefined;
        },
        60_000,
        250,
      );
      expect(playing.refusal).toBeUndefined();
      await eventually(async () =>
        /^Playing live\/later · \d+ min left on the token$/.test((await read()).text)
          ? true
          : undefined,
      );
    } finally {
      late?.stop();
      await page.close();
    }
  }, 90_000);

  it('masks the token, shows the time left in minutes, has an icon, and no request fails', async () => {
    const playToken = await token('live/page', 'play', 3600);
    const page = await browser.newPage({ viewport: { width: 1000, height: 720 } });
    const failed: string[] = [];
    const errors: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
    });
    page.on('requestfailed', (request) => failed.push(`failed ${request.url()}`));
    // Chromium asks for the icon by itself (/favicon.ico when the page links none): a 404 there
    // shows only as a console error, not as a response of the page.
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`${message.text()} ${message.location().url}`);
    });
    try {
      await page.goto(
        `http://127.0.0.1:${server.httpPort}/player.html#stream=live/page&token=${playToken}`,
      );
      await page.waitForFunction(
        () => (document.getElementById('video') as HTMLVideoElement).currentTime > 0.5,
        undefined,
        { timeout: 30_000 },
      );
      // The time left in minutes (a 60-minute token, opened a moment ago), not in seconds.
      await page
        .locator('#state', { hasText: /^Playing live\/page · 5[89] min left on the token$/ })
        .waitFor({ timeout: 5000 });

      // Masked: a password field, and only its first and last characters in words.
      expect(await page.getAttribute('#token', 'type')).toBe('password');
      expect(await page.textContent('#token-info')).toBe(
        `token ${playToken.slice(0, 6)}…${playToken.slice(-4)}`,
      );
      expect(await page.evaluate(() => document.body.innerText)).not.toContain(playToken);
      await page.click('#token-toggle');
      expect(await page.getAttribute('#token', 'type')).toBe('text');
      expect(await page.textContent('#token-toggle')).toBe('hide');
      await page.click('#token-toggle');
      expect(await page.getAttribute('#token', 'type')).toBe('password');

      // The icon the page links is served (and /favicon.ico, which browsers may ask for anyway).
      const icon = await page.evaluate(async () => {
        const href = document.querySelector<HTMLLinkElement>('link[rel="icon"]')!.href;
        const [linked, ico] = await Promise.all([fetch(href), fetch('/favicon.ico')]);
        return {
          href,
          status: linked.status,
          type: linked.headers.get('content-type'),
          ico: ico.status,
        };
      });
      expect(icon).toEqual({
        href: `http://127.0.0.1:${server.httpPort}/favicon.svg`,
        status: 200,
        type: 'image/svg+xml',
        ico: 200,
      });
      expect(failed).toEqual([]);
      expect(errors).toEqual([]);

      await page.screenshot({
        path: process.env.STAGEDOOR_PLAYER_SCREENSHOT ?? join(tmpdir(), 'stagedoor-player.png'),
        fullPage: true,
      });
    } finally {
      await page.close();
    }
  }, 60_000);
});
