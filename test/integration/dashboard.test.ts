// The dashboard on the admin port, in headless Chromium: it shows a live session, and a kick from it ends the session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { eventually } from '../helpers/http.js';
import { launchChromium } from '../helpers/browser.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { token } from '../helpers/tokens.js';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer(testConfig());
  browser = await launchChromium();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await server.stop();
});

describe('dashboard', () => {
  it('shows a live session with its countdown, and kicking it from the page ends the session', async () => {
    const publisher = await RawRtmpClient.open(server.rtmpPort);
    await publisher.handshake();
    publisher.connectApp('live');
    publisher.publish(`dash?token=${await token('live/dash', 'publish', 600)}`);
    await publisher.waitForStatus((s) => s.code === 'NetStream.Publish.Start');

    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.adminPort}/#token=${ADMIN_API_KEY}`);
    const row = page.locator('#sessions tr', { hasText: 'live/dash' });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toMatch(/publisher\s*rtmp\s*live\/dash\s*live\/dash/);
    expect(await row.locator('td').nth(5).textContent()).toMatch(/^\d+ s$/);

    // A refused request shows up in the refusal counts through the live event feed.
    await page.waitForFunction(
      () =>
        (window as unknown as { stagedoorDashboard: { following?: boolean } }).stagedoorDashboard
          .following === true,
      undefined,
      { timeout: 10_000 },
    );
    await fetch(server.hlsUrl('live/dash'));
    await page.locator('#refusals', { hasText: /TOKEN_MISSING: \d+/ }).waitFor({ timeout: 10_000 });

    await row.locator('button.kick').click();
    const closed = await publisher.closed;
    expect(closed.at).toBeGreaterThan(0);
    await eventually(
      async () =>
        (await page.locator('#sessions tr', { hasText: 'live/dash' }).count()) === 0
          ? true
          : undefined,
      5000,
    );
    const end = await server.waitForLog(
      (l) => l.event === 'session_end' && l.stream === 'live/dash',
    );
    expect(end.reason).toBe('kicked');
    expect(server.logs.find((l) => l.event === 'session_kicked')?.actor).toBe('api-key:ops');
    await page.close();
  });
});
