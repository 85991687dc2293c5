// The publisher page in headless Chromium with a fake camera, publishing for real over WebSocket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { probe } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { launchChromium } from '../helpers/browser.js';
import { sign, token } from '../helpers/tokens.js';
import { parseMediaPlaylist } from '../helpers/hls-spec.js';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer(testConfig());
  browser = await launchChromium([
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
  ]);
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await server.stop();
});

interface PublisherStatus {
  state: string;
  bytes: number;
  format?: string;
  expiresAt?: string;
  refusal?: { status: number; code?: string };
}

async function openPublisherPage(stream: string, jwt: string) {
  const page = await browser.newPage();
  await page.goto(
    `http://127.0.0.1:${server.httpPort}/publish.html#stream=${stream}&token=${jwt}&autostart=1`,
  );
  const status = () =>
    page.evaluate(() => ({
      ...(window as unknown as { stagedoorPublisher: PublisherStatus }).stagedoorPublisher,
    }));
  return { page, status };
}

describe('the publisher page (Chromium, fake camera)', () => {
  it('publishes the camera for a few seconds and a viewer decodes the HLS', async () => {
    const { page, status } = await openPublisherPage(
      'live/browser',
      await token('live/browser', 'publish', 120),
    );
    const live = await eventually(async () => {
      const s = await status();
      return s.state === 'publishing' && s.bytes > 50_000 ? s : undefined;
    }, 45_000); // a bound for a stuck page, not a speed requirement: Chromium's encoder is slow on a busy machine
    expect(live.format).toMatch(/^video\/(x-matroska|webm)/);
    expect(live.expiresAt).toBeDefined();
    const play = await token('live/browser', 'play');
    await eventually(
      async () =>
        (await fetch(server.hlsUrl('live/browser', play))).status === 200 ? true : undefined,
      20_000,
    );
    const result = await probe(server.hlsUrl('live/browser', play), 15);
    expect(result.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const session = server.stagedoor.registry.list().find((s) => s.stream.name === 'browser');
    expect(session).toMatchObject({ kind: 'publisher', protocol: 'ws' });

    // FFmpeg dies under MediaRecorder's stream: it resumes from the latest key frame and the page never notices.
    const transcoder = server.stagedoor.outputs!.get('live/browser')!;
    const firstPid = transcoder.process?.pid!;
    // The playlist as viewers read it (the packager holds it in memory).
    const lastSegment = async () => {
      const res = await fetch(server.hlsUrl('live/browser', play, 'copy.m3u8'));
      const text = res.status === 200 ? await res.text() : '';
      return Math.max(
        -1,
        ...parseMediaPlaylist(text)
          .segments.filter((s) => s.uri)
          .map((s) => s.msn),
      );
    };
    const before = await lastSegment();
    process.kill(firstPid, 'SIGKILL');
    await eventually(
      () => (transcoder.process?.pid && transcoder.process?.pid !== firstPid ? true : undefined),
      5000,
    );
    await eventually(async () => ((await lastSegment()) >= before + 2 ? true : undefined), 10_000);
    expect(
      server.logs.some((l) => l.event === 'ffmpeg_resumed' && l.stream === 'live/browser'),
    ).toBe(true);
    expect((await status()).state).toBe('publishing');
    expect(
      (await probe(server.hlsUrl('live/browser', play), 15)).streams
        .map((s) => s.codec_name)
        .sort(),
    ).toEqual(['aac', 'h264']);
    await page.close();
  }, 180_000);

  it('exchanges its token for a short OBS stream key (ingest key) on request', async () => {
    const page = await browser.newPage();
    await page.goto(
      `http://127.0.0.1:${server.httpPort}/publish.html#stream=live/obs&token=${await token('live/obs', 'publish', 120)}`,
    );
    await page.click('#ingestKey');
    const streamKey = await eventually(
      () =>
        page.evaluate(
          () =>
            (window as unknown as { stagedoorPublisher: { ingestKey?: string } }).stagedoorPublisher
              .ingestKey,
        ),
      10_000,
    );
    expect(streamKey).toMatch(/^obs\?key=sk_[A-Za-z0-9_-]{32}$/);
    expect(await page.textContent('#ingestKeyOut')).toContain(`Stream key ${streamKey}`);
    await page.close();
  });

  it('shows a refusal with its reason code', async () => {
    const expired = await sign(
      { sub: 'live/browser2', scope: 'publish', exp: Math.floor(Date.now() / 1000) - 10 },
      { kid: 'hs' },
    );
    const { page, status } = await openPublisherPage('live/browser2', expired);
    const refused = await eventually(async () => {
      const s = await status();
      return s.refusal ? s : undefined;
    }, 10_000);
    expect(refused.refusal).toEqual({ status: 401, code: 'TOKEN_EXPIRED' });
    expect(refused.state).toBe('refused: 401 TOKEN_EXPIRED');
    await page.close();
  });
});
