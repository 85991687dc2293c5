import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { probe, publish, sleep } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { makeSampleFlv, makeSampleFmp4, makeSampleWebm } from '../helpers/flv.js';
import { openPublisher, sendPaced } from '../helpers/ws-client.js';
import { sign, token } from '../helpers/tokens.js';
import { parseMediaPlaylist } from '../helpers/hls-spec.js';

let server: TestServer;
let flvFile: string;
let webmFile: string;
let mp4File: string;

beforeAll(async () => {
  server = await startServer(testConfig(undefined, { ws: { maxAheadSec: 3 } }));
  const dir = mkdtempSync(join(tmpdir(), 'sd-ws-'));
  flvFile = makeSampleFlv(dir, 8);
  webmFile = makeSampleWebm(dir, 8);
  mp4File = makeSampleFmp4(dir, 8);
}, 60_000);
afterAll(async () => {
  await server.stop();
});

const wsUrl = (stream: string, jwt?: string, extra = '') =>
  `ws://127.0.0.1:${server.httpPort}/ws/${stream}${jwt ? `?token=${jwt}${extra}` : extra ? `?${extra.slice(1)}` : ''}`;

describe('WebSocket ingest', () => {
  it('an FLV byte stream over WebSocket produces playable HLS', async () => {
    const { ws, outcome } = await openPublisher(
      wsUrl('live/wsflv', await token('live/wsflv', 'publish')),
    );
    expect(ws).toBeDefined();
    const sending = sendPaced(ws!, flvFile, 8);
    await eventually(
      async () =>
        (await fetch(server.hlsUrl('live/wsflv', await token('live/wsflv', 'play')))).status === 200
          ? true
          : undefined,
      15_000,
    );
    const result = await probe(server.hlsUrl('live/wsflv', await token('live/wsflv', 'play')), 15);
    expect(result.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(outcome.messages[0]).toMatchObject({ type: 'admitted' });
    const session = server.stagedoor.registry
      .list()
      .find((s) => s.stream.name === 'wsflv' && s.kind === 'publisher');
    expect(session).toMatchObject({ protocol: 'ws' });
    expect(session!.bytesIn).toBeGreaterThan(10_000);
    ws!.close();
    await sending;
  });

  it('a recorded WebM (VP8/Opus, as MediaRecorder sends) produces playable H.264/AAC HLS', async () => {
    const { ws } = await openPublisher(wsUrl('live/wswebm', await token('live/wswebm', 'publish')));
    const sending = sendPaced(ws!, webmFile, 8);
    const play = await token('live/wswebm', 'play');
    await eventually(
      async () =>
        (await fetch(server.hlsUrl('live/wswebm', play))).status === 200 ? true : undefined,
      15_000,
    );
    const result = await probe(server.hlsUrl('live/wswebm', play), 15);
    expect(result.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    ws!.close();
    await sending;
  });

  it('a header split across messages (MediaRecorder can send a first chunk of one byte) is gathered, not refused', async () => {
    const { ws, closed } = await openPublisher(
      wsUrl('live/wssplit', await token('live/wssplit', 'publish')),
    );
    const bytes = readFileSync(webmFile);
    // 1 byte, then 3, then 40: the EBML magic and the Tracks element arrive in pieces.
    for (const [from, to] of [
      [0, 1],
      [1, 4],
      [4, 44],
    ]) {
      ws!.send(bytes.subarray(from, to));
      await sleep(50);
    }
    const rest = join(dirname(webmFile), 'split-rest.webm');
    writeFileSync(rest, bytes.subarray(44));
    const sending = sendPaced(ws!, rest, 8);
    const play = await token('live/wssplit', 'play');
    await eventually(
      async () =>
        (await fetch(server.hlsUrl('live/wssplit', play))).status === 200 ? true : undefined,
      15_000,
    );
    expect(
      server.logs.find((l) => l.event === 'ws_ingest_format' && l.stream === 'live/wssplit')
        ?.format,
    ).toBe('matroska');
    ws!.close();
    await sending;
    expect((await closed).closeCode).not.toBe(4400);
  });

  it('a fragmented MP4 (H.264/AAC) produces playable HLS, passed through', async () => {
    const { ws } = await openPublisher(wsUrl('live/wsmp4', await token('live/wsmp4', 'publish')));
    const sending = sendPaced(ws!, mp4File, 8);
    const play = await token('live/wsmp4', 'play');
    await eventually(
      async () =>
        (await fetch(server.hlsUrl('live/wsmp4', play))).status === 200 ? true : undefined,
      15_000,
    );
    const result = await probe(server.hlsUrl('live/wsmp4', play), 15);
    expect(result.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(
      server.logs.find((l) => l.event === 'ws_ingest_format' && l.stream === 'live/wsmp4')?.format,
    ).toBe('mp4');
    ws!.close();
    await sending;
  });

  it.each(['webm', 'mp4'] as const)(
    'FFmpeg killed under a %s publisher: restarted from the latest key frame, the publisher stays, the playlist keeps growing',
    async (kind) => {
      const stream = `live/wscrash${kind}`;
      const { ws, outcome } = await openPublisher(wsUrl(stream, await token(stream, 'publish')));
      const sending = sendPaced(ws!, kind === 'webm' ? webmFile : mp4File, 8);
      // The playlist as viewers read it (the packager holds it in memory).
      const play = await token(stream, 'play');
      const playlist = async () => {
        const res = await fetch(server.hlsUrl(stream, play, 'copy.m3u8'));
        return res.status === 200 ? await res.text() : '';
      };
      const lastSegment = (text: string) =>
        Math.max(
          -1,
          ...parseMediaPlaylist(text)
            .segments.filter((s) => s.uri)
            .map((s) => s.msn),
        );
      await eventually(async () => (lastSegment(await playlist()) >= 1 ? true : undefined), 15_000);
      const transcoder = server.stagedoor.outputs!.get(stream)!;
      const firstPid = transcoder.process?.pid!;
      const before = await playlist();
      process.kill(firstPid, 'SIGKILL');
      await eventually(
        () => (transcoder.process?.pid && transcoder.process?.pid !== firstPid ? true : undefined),
        5000,
      );
      await eventually(
        async () => (lastSegment(await playlist()) >= lastSegment(before) + 2 ? true : undefined),
        8000,
      );
      expect(await playlist()).toContain('#EXT-X-DISCONTINUITY');
      expect(transcoder.process?.restarts).toBe(1);
      expect(outcome.closeCode).toBeUndefined();
      expect(ws!.readyState).toBe(ws!.OPEN);
      const result = await probe(server.hlsUrl(stream, play), 15);
      expect(result.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
      ws!.close();
      await sending;
    },
  );

  it.each([
    ['missing token', undefined, 401, 'TOKEN_MISSING'],
    ['expired token', 'expired', 401, 'TOKEN_EXPIRED'],
    ['token for another stream', 'other', 403, 'STREAM_DENIED'],
    ['play-only token', 'play', 403, 'SCOPE_DENIED'],
  ] as const)(
    'refuses the upgrade for a %s with HTTP %i and the code',
    async (_name, kind, status, code) => {
      const jwt =
        kind === undefined
          ? undefined
          : kind === 'expired'
            ? await sign(
                { sub: 'live/refused', scope: 'publish', exp: Math.floor(Date.now() / 1000) - 5 },
                { kid: 'hs' },
              )
            : kind === 'other'
              ? await token('live/elsewhere', 'publish')
              : await token('live/refused', 'play');
      const { ws, outcome } = await openPublisher(wsUrl('live/refused', jwt));
      expect(ws).toBeUndefined();
      expect(outcome.refusedStatus).toBe(status);
      expect(outcome.refusedBody?.error.code).toBe(code);
      expect(server.stagedoor.registry.list().filter((s) => s.stream.name === 'refused')).toEqual(
        [],
      );
    },
  );

  it('answers the same question on a plain GET (the publisher page asks before connecting)', async () => {
    const ok = await fetch(
      `http://127.0.0.1:${server.httpPort}/ws/live/check?token=${await token('live/check', 'publish')}`,
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ ok: true, stream: 'live/check' });
    const refused = await fetch(`http://127.0.0.1:${server.httpPort}/ws/live/check`);
    expect(refused.status).toBe(401);
  });

  it('closes a publisher at its token’s exp, not before, with 4401 TOKEN_EXPIRED (the lag is measured in bench/expiry.mjs)', async () => {
    const startedAt = Date.now();
    const exp = startedAt + 3000;
    const { ws, closed } = await openPublisher(
      wsUrl(
        'live/wsexp',
        await sign({ sub: 'live/wsexp', scope: 'publish', exp: exp / 1000 }, { kid: 'hs' }),
      ),
    );
    void sendPaced(ws!, flvFile, 8);
    const outcome = await closed;
    expect(outcome.closeCode).toBe(4401);
    expect(outcome.closeReason).toBe('TOKEN_EXPIRED');
    expect(outcome.closedAt!).toBeGreaterThanOrEqual(exp - 5); // 5 ms: two clocks' millisecond rounding
    const end = await server.waitForLog(
      (l) => l.event === 'session_end' && l.stream === 'live/wsexp',
    );
    expect(end.reason).toBe('expired');
  });

  it('a refresh message before expiry keeps the publisher past the first token’s exp', async () => {
    const exp = Date.now() + 2000;
    const { ws, outcome, closed } = await openPublisher(
      wsUrl(
        'live/wsrefresh',
        await sign({ sub: 'live/wsrefresh', scope: 'publish', exp: exp / 1000 }, { kid: 'hs' }),
      ),
    );
    void sendPaced(ws!, flvFile, 8);
    await sleep(1000);
    ws!.send(
      JSON.stringify({ type: 'refresh', token: await token('live/wsrefresh', 'publish', 60) }),
    );
    await sleep(2500);
    expect(Date.now()).toBeGreaterThan(exp + 400);
    expect(ws!.readyState).toBe(ws!.OPEN);
    expect(outcome.messages.some((m) => m.type === 'refreshed')).toBe(true);
    // Operators see it as a refresh of a live session, not as an end and a start.
    expect(
      server.logs.some((l) => l.event === 'session_refreshed' && l.stream === 'live/wsrefresh'),
    ).toBe(true);
    const metrics = await (
      await fetch(`http://127.0.0.1:${server.adminPort}/metrics`, {
        headers: { authorization: `Bearer ${ADMIN_API_KEY}` },
      })
    ).text();
    expect(metrics).toMatch(
      /stagedoor_token_refreshes_total\{protocol="ws",kind="publisher"\} 1\n/,
    );
    expect(metrics).not.toMatch(
      /stagedoor_session_ends_total\{protocol="ws",kind="publisher",reason="unknown"\}/,
    );
    // A refresh with a bad token closes it, with the token's code.
    ws!.send(JSON.stringify({ type: 'refresh', token: await token('live/other', 'publish', 60) }));
    const end = await closed;
    expect(end.closeCode).toBe(4403);
    expect(end.closeReason).toBe('STREAM_DENIED');
  });

  it('closes a client that sends 50 MB of random bytes, keeps memory bounded and other streams going', async () => {
    const rtmp = publish(
      server.url('live/bystander', await token('live/bystander', 'publish')),
      60,
      '320x180',
    );
    const play = await token('live/bystander', 'play');
    try {
      await eventually(
        async () =>
          (await fetch(server.hlsUrl('live/bystander', play))).status === 200 ? true : undefined,
        15_000,
      );
      const rssBefore = process.memoryUsage().rss;
      const { ws, closed } = await openPublisher(
        wsUrl('live/garbage', await token('live/garbage', 'publish')),
      );
      const chunk = randomBytes(1024 * 1024);
      for (let i = 0; i < 50 && ws!.readyState === ws!.OPEN; i++) {
        ws!.send(chunk);
        await sleep(5);
      }
      const outcome = await closed;
      expect(outcome.closeCode).toBe(4400);
      expect(outcome.closeReason).toMatch(/^PROTOCOL_ERROR/);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
      const result = await probe(server.hlsUrl('live/bystander', play), 15);
      expect(result.streams.length).toBe(2);
    } finally {
      rtmp.stop();
    }
  });

  it('closes a client sending faster than real time with 4429 INGEST_TOO_FAST', async () => {
    const { ws, closed } = await openPublisher(
      wsUrl('live/flood', await token('live/flood', 'publish')),
    );
    void sendPaced(ws!, flvFile, 8, { speed: 20 });
    const outcome = await closed;
    expect(outcome.closeCode).toBe(4429);
    expect(outcome.closeReason).toBe('INGEST_TOO_FAST');
  });

  it('one publisher per stream across RTMP and WebSocket: the second is refused with STREAM_BUSY', async () => {
    const { ws } = await openPublisher(wsUrl('live/shared', await token('live/shared', 'publish')));
    void sendPaced(ws!, flvFile, 8);
    const rtmp = publish(
      server.url('live/shared', await token('live/shared', 'publish')),
      5,
      '320x180',
    );
    expect((await rtmp.exited).code).not.toBe(0);
    const refusal = await server.waitForLog(
      (l) => l.event === 'access_refused' && l.stream === 'live/shared' && l.protocol === 'rtmp',
    );
    expect(refusal.code).toBe('STREAM_BUSY');
    const second = await openPublisher(wsUrl('live/shared', await token('live/shared', 'publish')));
    expect(second.outcome.refusedStatus).toBe(409);
    expect(second.outcome.refusedBody?.error.code).toBe('STREAM_BUSY');
    ws!.close();
  });

  it('refuses origins outside ws.allowedOrigins', async () => {
    const strict = await startServer(
      testConfig(undefined, { ws: { allowedOrigins: ['https://studio.example'] } }),
    );
    try {
      const url = `ws://127.0.0.1:${strict.httpPort}/ws/live/o?token=${await token('live/o', 'publish')}`;
      const foreign = await openPublisher(url, { origin: 'https://evil.example' });
      expect(foreign.outcome.refusedStatus).toBe(403);
      expect(foreign.outcome.refusedBody?.error.code).toBe('ORIGIN_DENIED');
      const allowed = await openPublisher(url, { origin: 'https://studio.example' });
      expect(allowed.ws).toBeDefined();
      allowed.ws!.close();
    } finally {
      await strict.stop();
    }
  });
});

describe('WebSocket ingest whose FFmpeg keeps failing', () => {
  let failing: TestServer;
  beforeAll(async () => {
    // An "FFmpeg" that answers -version, then takes some input and dies, every time.
    const dir = mkdtempSync(join(tmpdir(), 'sd-badff-'));
    const fake = join(dir, 'ffmpeg');
    writeFileSync(
      fake,
      '#!/bin/sh\nif [ "$2" = "-version" ]; then echo "ffmpeg version fake"; exit 0; fi\nhead -c 30000 >/dev/null\necho "fake ffmpeg: giving up" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    failing = await startServer(
      testConfig(undefined, { hls: { ffmpegPath: fake, restartBackoffMaxSec: 1 } }),
    );
  }, 30_000);
  afterAll(async () => {
    await failing?.stop();
  });

  it('ends a WebM publisher with 4500 TRANSCODER_FAILED after 5 failures in a row, instead of streaming into nothing', async () => {
    const { ws, closed } = await openPublisher(
      `ws://127.0.0.1:${failing.httpPort}/ws/live/doomed?token=${await token('live/doomed', 'publish')}`,
    );
    const sending = sendPaced(ws!, webmFile, 8);
    const outcome = await closed;
    expect(outcome.closeCode).toBe(4500);
    expect(outcome.closeReason).toBe('TRANSCODER_FAILED');
    expect(
      failing.logs.filter((l) => l.event === 'ffmpeg_exited' && l.stream === 'live/doomed'),
    ).toHaveLength(5);
    expect(failing.logs.find((l) => l.event === 'transcoder_failed')?.reason).toMatch(
      /failed 5 times in a row/,
    );
    await sending;
  });
});
