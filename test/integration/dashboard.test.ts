// The dashboard on the admin port, in headless Chromium, driven as an operator would: a live session
// and its kick; a live stream with its preview, progress and security; charts; a viewer kicked, a
// subject revoked and lifted, refusals counted as they happen; what it says when it cannot ask
// (no key, a wrong key, the server unreachable); figures with their units; a stream key copied; the
// node of each session and stream, and the node strip (compact on one node; with stubbed listings, a
// cluster with a silent node, and a kick its node cannot answer said in words).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { eventually } from '../helpers/http.js';
import { launchChromium } from '../helpers/browser.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { HS_SECRET, token } from '../helpers/tokens.js';
import { publish, view, type RunningProcess } from '../helpers/ffmpeg.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** The name the server gives itself in its listings (the one node, outside a cluster). */
async function selfNode(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${server.adminPort}/api/v1/sessions`, {
    headers: { authorization: `Bearer ${ADMIN_API_KEY}` },
  });
  const body = (await res.json()) as { nodes: { node: string; self: boolean }[] };
  expect(body.nodes.length).toBe(1);
  return body.nodes.find((n) => n.self)!.node;
}

/** Waits until the page reads the live event feed (a refusal made before would not show). */
async function followingEvents(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      (window as unknown as { stagedoorDashboard: { following?: boolean } }).stagedoorDashboard
        .following === true,
    undefined,
    { timeout: 10_000 },
  );
}

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
    // Units: the time left as h:mm:ss, bytes as B/KiB/MiB.
    expect(await row.locator('td').nth(5).textContent()).toMatch(/^0:(09|10):\d\d$/);
    expect(await row.locator('td').nth(6).textContent()).toMatch(
      /^\d+(\.\d)? (B|KiB|MiB) \/ \d+(\.\d)? (B|KiB|MiB)$/,
    );
    // The node that holds the session: on one node, the server's own name; the node strip stays
    // compact (just that name, marked as this node), with no count of nodes and nothing unreachable.
    const node = await selfNode();
    expect(await row.locator('td').nth(7).textContent()).toBe(node);
    const strip = page.locator('#cluster');
    await strip.waitFor();
    expect(await strip.getAttribute('class')).toBe('compact');
    const self = page.locator('#nodes li');
    expect(await self.count()).toBe(1);
    expect(await self.getAttribute('data-node')).toBe(node);
    expect(await self.getAttribute('data-self')).toBe('');
    expect((await strip.innerText()).replace(/\s+/g, ' ')).toBe(`node ${node}`);
    // The feed starts with what was live before the page opened.
    await page.locator('#feed li', { hasText: 'live: publisher live/dash (rtmp)' }).waitFor();

    // A refused request shows up in the refusal counts through the live event feed.
    await followingEvents(page);
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

  it('says when it is not connected: no key, a wrong key in words, the server unreachable; then connects and copies a stream key', async () => {
    const publisher = await RawRtmpClient.open(server.rtmpPort);
    await publisher.handshake();
    publisher.connectApp('live');
    publisher.publish(`nokey?token=${await token('live/nokey', 'publish', 600)}`);
    await publisher.waitForStatus((s) => s.code === 'NetStream.Publish.Start');
    const context = await browser.newContext({
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    const page = await context.newPage();
    // Chromium asks for the page's icon (or /favicon.ico) by itself; a 404 shows as a console error.
    const iconErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && message.location().url.includes('/favicon'))
        iconErrors.push(message.text());
    });
    const adminUrl = `http://127.0.0.1:${server.adminPort}/`;
    const status = page.locator('#status');
    const shown = async () => ({
      streams: (await page.locator('#streams').innerText()).trim(),
      streamCount: await page.textContent('#stream-count'),
      sessions: (await page.locator('#sessions').innerText()).trim(),
      sessionCount: await page.textContent('#count'),
    });
    const notConnected = {
      streams: 'not connected',
      streamCount: '',
      sessions: 'not connected',
      sessionCount: '',
    };
    try {
      // No key: it says so, and does not claim there is no stream or no session.
      await page.goto(adminUrl);
      await status.filter({ hasText: 'not connected: enter an admin token or API key' }).waitFor();
      await page.waitForTimeout(1500); // the lists are redrawn every second: let that happen
      expect(await shown()).toEqual(notConnected);

      // A wrong key: named in words, not as SIGNATURE_INVALID.
      await page.fill('#token', 'not-the-key-0123456789abcdef');
      await page.click('#login button');
      await status.filter({ hasText: 'this API key is not accepted' }).waitFor();
      expect(await status.textContent()).not.toContain('SIGNATURE_INVALID');
      expect(await shown()).toEqual(notConnected);

      // The server cannot be reached (the API fails at the network level): said, and retried.
      await page.route('**/api/v1/**', (route) => route.abort('connectionrefused'));
      await page.fill('#token', ADMIN_API_KEY);
      await page.click('#login button');
      await status
        .filter({ hasText: 'not connected: the server cannot be reached; retrying' })
        .waitFor();
      expect(await shown()).toEqual(notConnected);
      await page.unroute('**/api/v1/**');

      // Reachable again: it connects by itself, with the stream and the feed seeded.
      await status.filter({ hasText: /^connected$/ }).waitFor({ timeout: 10_000 });
      const card = page.locator('#streams [data-stream="live/nokey"]');
      await card.waitFor();
      await page.locator('#feed li', { hasText: 'live: publisher live/nokey (rtmp)' }).waitFor();
      expect(await page.textContent('#count')).toMatch(/^\(\d+\)$/);
      // Units on the card: how long it has been live, and the bitrate; and the node it is on.
      expect(await card.locator('dd').nth(1).textContent()).toMatch(/^\d+:\d\d:\d\d$/);
      expect(await card.locator('dd').nth(3).textContent()).toMatch(/^\d+ kbit\/s/);
      expect(await card.locator('dd').last().textContent()).toBe(await selfNode());

      // One click copies the stream key, and the button says so.
      const copy = card.locator('button.copy');
      await copy.click();
      await copy.filter({ hasText: 'copied' }).waitFor();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('live/nokey');

      expect(
        await page.evaluate(async () => {
          const href = document.querySelector<HTMLLinkElement>('link[rel="icon"]')!.href;
          return [new URL(href).pathname, (await fetch(href)).status];
        }),
      ).toEqual(['/favicon.svg', 200]);
      expect(iconErrors).toEqual([]);
    } finally {
      publisher.destroy();
      await context.close();
    }
  });

  it('shows a live stream with its preview, progress and security; a viewer kicked, a subject revoked and lifted, refusals counted', async () => {
    const publisher: RunningProcess = publish(
      server.url('live/show', await token('live/show', 'publish', 600)),
      120,
      '640x360',
    );
    let viewer: RunningProcess | undefined;
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      await page.goto(`http://127.0.0.1:${server.adminPort}/#token=${ADMIN_API_KEY}`);
      // The stream appears, with its codecs, its output (a passthrough is packaged in-process, no
      // FFmpeg) and its security (key ids only).
      const card = page.locator('#streams [data-stream="live/show"]');
      await card.waitFor({ timeout: 20_000 });
      await card.locator('dd', { hasText: /segment [\d.]+ s ago/ }).waitFor({ timeout: 20_000 });
      const text = await card.textContent();
      expect(text).toContain('h264 + aac');
      expect(text).toMatch(/packaged in-process · running · segment/);
      expect(text).toContain('passthrough, no encoder');
      expect(text).not.toMatch(/pid \d+/);
      expect(text).toMatch(/publish secured · play secured/);
      expect(text).not.toContain(HS_SECRET);
      // The muted preview plays through the admin port, with the admin credential.
      await page.waitForFunction(
        () => {
          const video = document.querySelector<HTMLVideoElement>('[data-stream="live/show"] video');
          return video !== null && video.muted && video.currentTime > 0.5;
        },
        undefined,
        { timeout: 30_000 },
      );

      viewer = view(server.url('live/show', await token('live/show', 'play', 600)));
      const viewerRow = page.locator('#sessions tr', { hasText: /viewer\s*rtmp\s*live\/show/ });
      await viewerRow.waitFor({ timeout: 15_000 });
      await card.locator('dd', { hasText: 'rtmp 1' }).waitFor({ timeout: 10_000 });

      // Refusals rise in the table and the chart as they happen.
      await followingEvents(page);
      for (let i = 0; i < 3; i++) await fetch(server.hlsUrl('live/show'));
      await page
        .locator('#refusals [data-code="TOKEN_MISSING"]', { hasText: 'TOKEN_MISSING: 3' })
        .waitFor({ timeout: 10_000 });
      await page.waitForFunction(
        () => {
          const chart = (
            window as unknown as {
              stagedoorDashboard: {
                charts(): Record<string, { labels: string[]; data: number[][] }>;
              };
            }
          ).stagedoorDashboard.charts()['chart-refusals']!;
          const column = chart.data[chart.labels.indexOf('TOKEN_MISSING') + 1];
          return column !== undefined && column.reduce((a, b) => a + b, 0) === 3;
        },
        undefined,
        { timeout: 10_000 },
      );
      await page.locator('#feed li', { hasText: 'TOKEN_MISSING' }).first().waitFor();
      await page.screenshot({
        path:
          process.env.STAGEDOOR_DASHBOARD_SCREENSHOT ?? join(tmpdir(), 'stagedoor-dashboard.png'),
        fullPage: true,
      });

      // Kick the viewer.
      const viewerId = await viewerRow.getAttribute('data-id');
      await viewerRow.locator('button.kick').click();
      const kicked = await server.waitForLog(
        (l) => l.event === 'session_end' && l.sessionId === viewerId,
      );
      expect(kicked.reason).toBe('kicked');
      await viewer.exited;

      // Revoke the stream's subject: its publisher is cut, the stream goes; then lift it.
      await page.locator('#revoke-value').fill('live/show');
      await page.locator('#revoke-reason').fill('test: operator revokes');
      await page.locator('#revoke button').click();
      const revocation = page.locator('#revocations tr', { hasText: 'live/show' });
      await revocation.waitFor({ timeout: 10_000 });
      expect(await revocation.textContent()).toContain('test: operator revokes');
      const cut = await server.waitForLog(
        (l) => l.event === 'session_end' && l.stream === 'live/show' && l.kind === 'publisher',
      );
      expect(cut.reason).toBe('revoked');
      await card.waitFor({ state: 'detached', timeout: 15_000 });
      await page
        .locator('#feed li', { hasText: /publisher rtmp live\/show .*\(revoked\)/ })
        .waitFor();
      await revocation.locator('button.unrevoke').click();
      await revocation.waitFor({ state: 'detached', timeout: 10_000 });
    } finally {
      publisher.stop();
      viewer?.stop();
      await page.close();
    }
  });

  it('in a cluster (stubbed listings): a node column, a strip naming the unreachable node, a kick its node cannot answer said in words', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const startedAt = new Date(Date.now() - 60_000).toISOString();
    const far = {
      id: 's_far0001@node-c',
      node: 'node-c',
      kind: 'viewer',
      protocol: 'hls',
      stream: 'live/far',
      subject: 'viewer-far',
      address: '10.0.0.3',
      startedAt,
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
      bytesIn: 0,
      bytesOut: 2048,
    };
    const others = [
      {
        node: 'node-b',
        self: false,
        reachable: false,
        error: 'node node-b did not answer within 2000 ms',
      },
      { node: 'node-c', self: false, reachable: true },
    ];
    // The real server's answers, with two more nodes: node-b silent, node-c holding one session.
    await page.route('**/api/v1/sessions', async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { sessions: unknown[]; nodes: unknown[] };
      await route.fulfill({
        response,
        json: {
          sessions: [...body.sessions, far],
          nodes: [
            ...body.nodes,
            ...others.map((n) => ({ ...n, ...(n.reachable ? { sessions: 1 } : {}) })),
          ],
        },
      });
    });
    await page.route('**/api/v1/streams', async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { streams: unknown[]; nodes: unknown[] };
      await route.fulfill({
        response,
        json: {
          streams: body.streams,
          nodes: [
            ...body.nodes,
            ...others.map((n) => ({ ...n, ...(n.reachable ? { streams: 0 } : {}) })),
          ],
        },
      });
    });
    // node-c holds the session but does not answer the kick: the server says 503 NODE_UNREACHABLE.
    const kicks: string[] = [];
    await page.route('**/api/v1/sessions/*', async (route) => {
      if (route.request().method() !== 'DELETE') return route.continue();
      kicks.push(new URL(route.request().url()).pathname);
      await route.fulfill({
        status: 503,
        json: {
          error: {
            code: 'NODE_UNREACHABLE',
            message: 'node node-c did not answer within 2000 ms',
          },
        },
      });
    });
    try {
      const node = await selfNode();
      await page.goto(`http://127.0.0.1:${server.adminPort}/#token=${ADMIN_API_KEY}`);
      const strip = page.locator('#cluster.full');
      await strip.waitFor({ timeout: 10_000 });
      expect(await page.textContent('#node-summary')).toBe('3 nodes, 1 unreachable:');
      const self = page.locator('#nodes li[data-self]');
      expect(await self.getAttribute('data-node')).toBe(node);
      expect(await self.innerText()).toMatch(/\(this node\) · \d+ sessions? · \d+ streams?$/);
      const silent = page.locator('#nodes li[data-node="node-b"]');
      expect(await silent.getAttribute('data-reachable')).toBe('false');
      expect(await silent.innerText()).toBe(
        'node-b unreachable: node node-b did not answer within 2000 ms (its sessions and streams are not listed)',
      );
      expect(await page.locator('#nodes li[data-node="node-c"]').innerText()).toBe(
        'node-c · 1 session · 0 streams',
      );

      // The node column names where each session is; the feed says on which node.
      const row = page.locator('#sessions tr', { hasText: 'live/far' });
      await row.waitFor();
      expect(await row.getAttribute('data-id')).toBe('s_far0001@node-c');
      expect(await row.locator('td.node').textContent()).toBe('node-c');
      await page.locator('#feed li', { hasText: '[node-c] live: viewer live/far (hls)' }).waitFor();

      // The kick goes to the id with its @ encoded; the 503 is said in words, not as a code.
      const message = page.locator('#session-message');
      expect(await message.isHidden()).toBe(true);
      await row.locator('button.kick').click();
      await message.filter({ hasText: 'not kicked' }).waitFor({ timeout: 5000 });
      expect(kicks).toEqual(['/api/v1/sessions/s_far0001%40node-c']);
      expect(await message.textContent()).toBe(
        'not kicked: viewer hls live/far is on node node-c, which did not answer (node node-c did not answer within 2000 ms); it may still be live there, try again shortly',
      );
      expect(await message.textContent()).not.toContain('NODE_UNREACHABLE');
    } finally {
      await page.close();
    }
  });
});
