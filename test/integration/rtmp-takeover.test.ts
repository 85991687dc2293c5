import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { sleep } from '../helpers/ffmpeg.js';
import { token } from '../helpers/tokens.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer(testConfig(undefined, { rtmp: { publisherTakeover: true } }));
});
afterAll(async () => {
  await server.stop();
});

async function client(action: 'publish' | 'play'): Promise<RawRtmpClient> {
  const c = await RawRtmpClient.open(server.rtmpPort);
  await c.handshake();
  c.connectApp('live');
  const key = `cam?token=${await token('live/cam', action)}`;
  if (action === 'publish') c.publish(key);
  else c.play(key);
  expect(await c.waitForStatus((s) => s.code.endsWith('.Start'))).toBeDefined();
  return c;
}

describe('publisher takeover (rtmp.publisherTakeover: true)', () => {
  it('lets a second admitted publisher replace the first; viewers stay and get the new media', async () => {
    const first = await client('publish');
    const viewer = await client('play');
    const second = await client('publish');
    const closed = await Promise.race([first.closed, sleep(2000).then(() => undefined)]);
    expect(closed).toBeDefined();
    const end = await server.waitForLog((l) => l.event === 'session_end' && l.kind === 'publisher');
    expect(end.reason).toBe('taken-over');
    second.sendMedia(0);
    second.sendMedia(40);
    await sleep(300);
    expect(viewer.socket.destroyed).toBe(false);
    expect(viewer.mediaReceived).toBeGreaterThan(0);
    viewer.destroy();
    second.destroy();
  });
});
