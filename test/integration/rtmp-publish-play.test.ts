import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish, probe, sleep } from '../helpers/ffmpeg.js';
import { rsaPair, sign, nowSec, token } from '../helpers/tokens.js';

const rsa = rsaPair();
let server: TestServer;

beforeAll(async () => {
  server = await startServer(testConfig(rsa));
});
afterAll(async () => {
  await server.stop();
});

async function waitForPublisher(stream: string): Promise<void> {
  await server.waitForLog(
    (l) => l.event === 'session_start' && l.kind === 'publisher' && l.stream === stream,
    10_000,
  );
  await sleep(1500); // a GOP (1 s at -g 30) so a new viewer starts on a key frame
}

describe('RTMP publish and play with valid tokens', () => {
  it('admits an HS256 publisher and plays the stream back over RTMP with a play token', async () => {
    const publisher = publish(server.url('live/hs', await token('live/hs', 'publish')));
    try {
      await waitForPublisher('live/hs');
      const result = await probe(server.url('live/hs', await token('hs', 'play')));
      expect(result.code).toBe(0);
      expect(result.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
      expect(server.stagedoor.registry.list().map((s) => s.kind)).toContain('publisher');
    } finally {
      publisher.stop();
    }
  });

  it('admits an RS256 publisher verified with a PEM public key from config', async () => {
    const publishToken = await sign(
      { sub: 'live/rs', scope: 'publish', exp: nowSec() + 60 },
      { alg: 'RS256', kid: 'rs' },
      rsa.privateKey,
    );
    const publisher = publish(server.url('live/rs', publishToken));
    try {
      await waitForPublisher('live/rs');
      const playToken = await sign(
        { sub: 'live/rs', scope: 'play', exp: nowSec() + 60 },
        { alg: 'RS256', kid: 'rs' },
        rsa.privateKey,
      );
      const result = await probe(server.url('live/rs', playToken));
      expect(result.code).toBe(0);
      expect(result.streams.find((s) => s.codec_type === 'video')).toMatchObject({
        codec_name: 'h264',
        width: 640,
      });
      const start = server.logs.find(
        (l) => l.event === 'session_start' && l.stream === 'live/rs' && l.kind === 'publisher',
      );
      expect(start).toMatchObject({ kid: 'rs', subject: 'live/rs', protocol: 'rtmp' });
    } finally {
      publisher.stop();
    }
  });

  it('accepts the token under its alias `jwt` too', async () => {
    const publisher = publish(
      `rtmp://127.0.0.1:${server.rtmpPort}/live/alias?jwt=${await token('alias', 'publish')}`,
    );
    try {
      await waitForPublisher('live/alias');
    } finally {
      publisher.stop();
    }
  });

  it('never writes a token into the log', () => {
    expect(server.rawLog.join('\n')).not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./);
  });
});
