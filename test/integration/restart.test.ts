// A restart mid-playback, as a deploy does it under a service manager that holds the listening
// sockets (systemd socket activation; test/helpers/socket-activate.py plays systemd): hls.js in
// Chromium and ffmpeg reading HLS go on across it. Their passes verify in the new process (keys
// kept in stateDir, the token sealed in the playlist pass checked again), connections made during
// the restart wait in the sockets' backlog, and the stream's playlists continue where they were.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { publish, sleep, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { launchChromium } from '../helpers/browser.js';
import { HS_SECRET, token } from '../helpers/tokens.js';

const MAIN = resolve('dist/main.js');
const ACTIVATE = resolve('test/helpers/socket-activate.py');
const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

/** The stagedoor process under the socket holder; its log lines, and the holder's own lines. */
async function startActivated() {
  const dir = mkdtempSync(join(tmpdir(), 'sd-restart-'));
  const config = {
    rtmp: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
    banner: { enabled: false },
    mediaDir: join(dir, 'media'),
    stateDir: join(dir, 'state'),
    auth: { keys: [{ kid: 'hs', alg: 'HS256', secret: HS_SECRET }] },
    hls: { segmentSec: 1, playlistSize: 6, renditions: [{ name: 'copy', copy: true }] },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const holder: ChildProcess = spawn(
    'python3',
    [ACTIVATE, 'http,rtmp,admin', process.execPath, MAIN, '--config', join(dir, 'config.json')],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  cleanup.push(async () => {
    if (holder.exitCode !== null) return;
    holder.kill('SIGTERM');
    await new Promise((r) => holder.once('exit', r));
  });
  const lines: string[] = [];
  let partial = '';
  holder.stdout!.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const parts = text.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  let stderr = '';
  holder.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const ports = await eventually(() => {
    const first = lines.find((l) => l.startsWith('{"http"'));
    return first ? (JSON.parse(first) as { http: number; rtmp: number; admin: number }) : undefined;
  }, 10_000);
  const listening = () => lines.filter((l) => l.includes('"event":"listening"')).length;
  await eventually(() => (listening() === 1 ? true : undefined), 20_000).catch(() => {
    throw new Error(`stagedoor did not start: ${stderr}${lines.join('\n')}`);
  });
  return { holder, ports, lines, listening, stderr: () => stderr };
}

/** ffmpeg reading HLS and discarding it; `frames()` is how many video frames it has read. */
function readHls(url: string): RunningProcess & { frames: () => number } {
  const child = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', url].concat([
      '-map',
      '0:v',
      '-c',
      'copy',
      '-f',
      'null',
      '-',
      '-progress',
      'pipe:1',
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let frames = 0;
  child.stdout!.on('data', (d: Buffer) => {
    for (const m of d.toString().matchAll(/^frame=(\d+)$/gm)) frames = Number(m[1]);
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-5000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (r) => child.on('exit', (code, signal) => r({ code, signal, at: Date.now() })),
  );
  return {
    child,
    startedAt: Date.now(),
    stderr: () => err,
    exited,
    stop: () => void (child.exitCode === null && child.kill('SIGKILL')),
    frames: () => frames,
  };
}

describe('a restart of stagedoor mid-playback', () => {
  let browser: Browser;

  it('does not stop hls.js in Chromium nor ffmpeg reading HLS', async () => {
    const server = await startActivated();
    const { http, rtmp } = server.ports;
    const publishUrl = async () =>
      `rtmp://127.0.0.1:${rtmp}/live/cam1?token=${await token('live/cam1', 'publish', 600)}`;
    const first = publish(await publishUrl(), 120, '640x360');
    cleanup.push(() => first.stop());
    const playToken = await token('live/cam1', 'play', 600);
    const master = `http://127.0.0.1:${http}/live/cam1/index.m3u8?token=${playToken}`;
    await eventually(async () => ((await fetch(master)).status === 200 ? true : undefined), 30_000);
    await sleep(2000);

    browser = await launchChromium();
    cleanup.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${http}/player.html#stream=live/cam1&token=${playToken}`);
    const player = () =>
      page.evaluate(() => ({
        time: (document.getElementById('video') as HTMLVideoElement).currentTime,
        state: document.getElementById('state')!.textContent ?? '',
        refusal: (window as unknown as { stagedoorRefusal?: unknown }).stagedoorRefusal,
      }));
    const reader = readHls(master);
    cleanup.push(() => reader.stop());
    await eventually(async () => ((await player()).time > 1 ? true : undefined), 30_000);
    await eventually(() => (reader.frames() > 60 ? true : undefined), 30_000);

    // The deploy: the holder stops the process (SIGTERM) and starts the new one on the same sockets.
    server.holder.kill('SIGHUP');
    const atRestart = { time: (await player()).time, frames: reader.frames() };
    await first.exited; // its RTMP connection ended with the old process
    const second = publish(await publishUrl(), 120, '640x360'); // waits in the backlog if early
    cleanup.push(() => second.stop());
    await eventually(() => (server.listening() === 2 ? true : undefined), 30_000);

    // Both go on, well past where they were: the player by 5 s of media, the reader by 150 frames.
    await eventually(
      async () =>
        (await player()).time > atRestart.time + 5 && reader.frames() > atRestart.frames + 150
          ? true
          : undefined,
      60_000,
    ).catch(async () => {
      writeFileSync(join(tmpdir(), 'sd-restart-failure.log'), server.lines.join('\n'));
      throw new Error(
        `after the restart: player ${JSON.stringify(await player())} (was ${atRestart.time}), reader ${reader.frames()} frames (was ${atRestart.frames}), reader exit ${reader.child.exitCode} ${reader.stderr()}\n${server.lines.slice(-30).join('\n')}`,
      );
    });
    const end = await player();
    expect(end.refusal).toBeUndefined();
    expect(end.state).not.toMatch(/error|refused/);
    expect(reader.child.exitCode).toBeNull();
    // The new process took the viewers back from their passes and continued the stream's files.
    const logs = server.lines.filter((l) => l.startsWith('{"level"')).map((l) => JSON.parse(l));
    expect(logs.some((l) => l.event === 'streams_left')).toBe(true);
    // The packager (no FFmpeg for this passthrough) served the kept window and continued it.
    expect(logs.filter((l) => l.event === 'ffmpeg_started')).toEqual([]);
    expect(logs.some((l) => l.event === 'packager_resumed')).toBe(true);
  }, 150_000);
});
