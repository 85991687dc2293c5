import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish, probe, sleep } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { makeSampleFlv, readFlvTags, type FlvTag } from '../helpers/flv.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { token } from '../helpers/tokens.js';

let server: TestServer;
let tags: FlvTag[];

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, {
      // The FFmpeg output is what is tested: the packager would take these passthrough streams.
      hls: { cleanupAfterSec: 0.5, stopTimeoutSec: 1, packager: { enabled: false } },
    }),
  );
  tags = readFlvTags(makeSampleFlv(mkdtempSync(join(tmpdir(), 'sd-flv-')), 2));
});
afterAll(async () => {
  await server.stop();
});

/** FFmpeg processes whose command line names this test server's media directory. */
function ffmpegChildrenOf(mediaDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.startsWith('ffmpeg') || cmdline.includes('/ffmpeg\0')) {
        if (cmdline.includes(mediaDir)) pids.push(Number(entry));
      }
    } catch {
      /* the process ended while we looked */
    }
  }
  return pids;
}

const mediaSequence = (text: string): number =>
  Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? -1);
const lastSegment = (text: string): number =>
  Math.max(
    ...text
      .split('\n')
      .filter((l) => l.endsWith('.ts'))
      .map((l) => Number(/_(\d+)\.ts$/.exec(l)?.[1] ?? -1)),
  );
const segmentCount = (text: string): number =>
  text.split('\n').filter((l) => l.endsWith('.ts')).length;

describe('the FFmpeg supervisor', () => {
  it('restarts FFmpeg killed with SIGKILL and the playlist keeps growing', async () => {
    const publisher = publish(
      server.url('live/crash', await token('live/crash', 'publish', 300)),
      120,
      '320x180',
    );
    const playlistPath = join(server.mediaDir, 'live', 'crash', 'copy.m3u8');
    try {
      const transcoder = await eventually(() =>
        server.stagedoor.outputs!.get('live/crash')?.process?.pid
          ? server.stagedoor.outputs!.get('live/crash')
          : undefined,
      );
      await eventually(
        () =>
          existsSync(playlistPath) && segmentCount(readFileSync(playlistPath, 'utf8')) >= 3
            ? true
            : undefined,
        20_000,
      );
      const before = readFileSync(playlistPath, 'utf8');
      const firstPid = transcoder!.process?.pid!;
      process.kill(firstPid, 'SIGKILL');
      const secondPid = await eventually(
        () =>
          transcoder!.process?.pid && transcoder!.process?.pid !== firstPid
            ? transcoder!.process?.pid
            : undefined,
        10_000,
      );
      expect(secondPid).not.toBe(firstPid);
      expect(existsSync(`/proc/${firstPid}`)).toBe(false); // reaped, not a zombie
      // The restarted transcoder goes on writing segments (waited for, bounded: a loaded machine
      // transcodes slower than real time).
      const after = await eventually(() => {
        const text = readFileSync(playlistPath, 'utf8');
        return lastSegment(text) >= lastSegment(before) + 3 ? text : undefined;
      }, 20_000);
      expect(mediaSequence(after)).toBeGreaterThanOrEqual(mediaSequence(before));
      expect(after).toContain('#EXT-X-DISCONTINUITY');
      const crash = await server.waitForLog(
        (l) => l.event === 'ffmpeg_exited' && l.stream === 'live/crash',
      );
      expect(crash).toMatchObject({ kind: 'crashed', signal: 'SIGKILL' });
      expect(transcoder!.process?.restarts).toBe(1);
      const result = await probe(
        server.hlsUrl('live/crash', await token('live/crash', 'play')),
        15,
      );
      expect(result.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    } finally {
      publisher.stop();
    }
    // Publisher gone: FFmpeg finishes the playlist, exits, and nothing is left running.
    await eventually(
      () => (readFileSync(playlistPath, 'utf8').includes('#EXT-X-ENDLIST') ? true : undefined),
      10_000,
    );
    await eventually(
      () => (ffmpegChildrenOf(server.mediaDir).length === 0 ? true : undefined),
      10_000,
    );
    await eventually(
      () => (existsSync(join(server.mediaDir, 'live', 'crash')) ? undefined : true),
      10_000,
    );
  }, 60_000);

  it('transcodes a publisher that sends no metadata (codec headers only): video and audio', async () => {
    const client = await RawRtmpClient.open(server.rtmpPort);
    await client.handshake();
    client.connectApp('live');
    client.publish(`nometa?token=${await token('live/nometa', 'publish')}`);
    await client.waitForStatus((s) => s.code === 'NetStream.Publish.Start');
    const started = Date.now();
    for (const tag of tags.filter((t) => t.type !== 18)) {
      const due = started + tag.timestamp;
      if (due > Date.now()) await sleep(due - Date.now());
      client.sendTag(tag.type, tag.timestamp, tag.data);
    }
    const result = await probe(
      server.hlsUrl('live/nometa', await token('live/nometa', 'play')),
      10,
    );
    expect(result.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    client.destroy();
  });

  it('encodes the copy rendition to 4:2:0 8-bit when the source is H.264 4:4:4, and says so', async () => {
    const publisher = publish(
      server.url('live/yuv444', await token('live/yuv444', 'publish')),
      60,
      '320x180',
      'yuv444p',
    );
    try {
      const result = await eventually(async () => {
        const probed = await probe(
          server.hlsUrl('live/yuv444', await token('live/yuv444', 'play')),
          10,
        );
        return probed.streams.length > 0 ? probed : undefined;
      }, 20_000);
      const video = result.streams.find((s) => s.codec_type === 'video')!;
      expect(video).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p' });
      const warned = await server.waitForLog(
        (l) => l.event === 'copy_reencoded' && l.stream === 'live/yuv444',
      );
      expect(String(warned.msg)).toMatch(/High 4:4:4 Predictive, 4:4:4 8-bit.*encoded to 4:2:0/);
      const { streams } = (await (
        await fetch(`http://127.0.0.1:${server.adminPort}/api/v1/streams`, {
          headers: { authorization: `Bearer ${ADMIN_API_KEY}` },
        })
      ).json()) as { streams: Array<{ stream: string; transcoder?: { warnings: string[] } }> };
      const listed = streams.find((s) => s.stream === 'live/yuv444')!;
      expect(listed.transcoder!.warnings).toEqual([warned.msg]);
    } finally {
      publisher.stop();
    }
  });

  it('leaves no FFmpeg behind across 50 publish/unpublish cycles', async () => {
    for (let cycle = 0; cycle < 50; cycle++) {
      const client = await RawRtmpClient.open(server.rtmpPort);
      await client.handshake();
      client.connectApp('live');
      client.publish(`cycle?token=${await token('live/cycle', 'publish')}`);
      expect(
        await client.waitForStatus((s) => s.code === 'NetStream.Publish.Start'),
        `cycle ${cycle}`,
      ).toBeDefined();
      for (const tag of tags.slice(0, 40)) client.sendTag(tag.type, tag.timestamp, tag.data);
      if (cycle % 10 === 0)
        await eventually(() => server.stagedoor.outputs!.get('live/cycle')?.process?.pid, 15_000);
      client.destroy();
      await client.closed;
      // The server sees the close a moment later; until then the stream still has its publisher.
      await eventually(
        () =>
          server.stagedoor.hub.get({ app: 'live', name: 'cycle' })?.publisher ? undefined : true,
        5000,
        10,
      );
    }
    await eventually(
      () => (ffmpegChildrenOf(server.mediaDir).length === 0 ? true : undefined),
      15_000,
    );
    const started = server.logs.filter(
      (l) => l.event === 'ffmpeg_started' && l.stream === 'live/cycle',
    ).length;
    expect(started).toBeGreaterThanOrEqual(5);
    // Each line names its component once (log tools keep one value per key).
    const ffmpegLines = server.rawLog.filter((l) => l.includes('"event":"ffmpeg_started"'));
    expect(ffmpegLines.every((l) => l.match(/"component":/g)?.length === 1)).toBe(true);
    // The last client's close reaches the server a moment after the client sees it.
    await eventually(
      () =>
        server.stagedoor.registry.list().some((s) => s.protocol === 'rtmp') ? undefined : true,
      10_000,
    ).catch((error: unknown) => {
      throw new Error(
        `${String(error)}; left: ${JSON.stringify(server.stagedoor.registry.list().map((s) => s.snapshot()))}`,
      );
    });
  }, 120_000);
});
