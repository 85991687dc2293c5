import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish, view, sleep } from '../helpers/ffmpeg.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { sign, token } from '../helpers/tokens.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer(testConfig());
});
afterAll(async () => {
  await server.stop();
});

describe('sessions end when their token expires', () => {
  it('disconnects an ffmpeg publisher at its token’s exp, not before (the lag is measured in bench/expiry.mjs)', async () => {
    const startedAt = Date.now();
    const short = await sign(
      { sub: 'live/short', scope: 'publish', exp: (startedAt + 3000) / 1000 },
      { kid: 'hs' },
    );
    const publisher = publish(server.url('live/short', short), 30);
    try {
      const exit = await publisher.exited;
      const after = exit.at - startedAt;
      expect(after).toBeGreaterThanOrEqual(2995); // the process exits after the cut; 5 ms of clock rounding
      expect(exit.code).not.toBe(0);
      const end = await server.waitForLog(
        (l) => l.event === 'session_end' && l.stream === 'live/short',
      );
      expect(end.reason).toBe('expired');
      expect(server.stagedoor.hub.get({ app: 'live', name: 'short' })).toBeUndefined();
    } finally {
      publisher.stop();
    }
  });

  it('cuts a viewer at its own expiry while the publisher goes on', async () => {
    const publisher = publish(
      server.url('live/long', await token('live/long', 'publish', 120)),
      60,
    );
    try {
      await server.waitForLog(
        (l) => l.event === 'session_start' && l.stream === 'live/long' && l.kind === 'publisher',
        10_000,
      );
      const expAt = Date.now() + 2500;
      const viewer = view(
        server.url(
          'live/long',
          await sign({ sub: 'long', scope: 'play', exp: expAt / 1000 }, { kid: 'hs' }),
        ),
      );
      // A second, raw viewer measures the cut on the socket itself.
      const raw = await RawRtmpClient.open(server.rtmpPort);
      await raw.handshake();
      raw.connectApp('live');
      raw.play(
        `long?token=${await sign({ sub: 'long', scope: 'play', exp: expAt / 1000 }, { kid: 'hs' })}`,
      );
      await sleep(1000);
      expect(raw.mediaReceived).toBeGreaterThan(0);
      const [viewerExit, rawClosed] = await Promise.all([viewer.exited, raw.closed]);
      // Not before exp; how soon after is a speed figure (bench/expiry.mjs), not an invariant.
      expect(rawClosed.at - expAt).toBeGreaterThanOrEqual(-5);
      expect(viewerExit.at - expAt).toBeGreaterThanOrEqual(-5);
      await sleep(500);
      expect(publisher.child.exitCode).toBeNull();
      const sessions = server.stagedoor.registry.list().filter((s) => s.stream.name === 'long');
      expect(sessions.map((s) => s.kind)).toEqual(['publisher']);
      const ends = server.logs.filter((l) => l.event === 'session_end' && l.stream === 'live/long');
      expect(ends.map((l) => l.reason)).toEqual(['expired', 'expired']);
    } finally {
      publisher.stop();
    }
  });
});
