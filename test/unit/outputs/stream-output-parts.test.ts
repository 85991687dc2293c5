// The parts an FFmpeg output is made of, each alone with a fake clock where time matters: the stream
// directory (only marked directories are ever deleted), AES key rotation, the playlist watchdog and
// the master playlist writer.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamDirectory } from '../../../src/outputs/stream-directory.js';
import { KeyRotator } from '../../../src/outputs/ffmpeg/key-rotator.js';
import { playlistProblem, watchPlaylist } from '../../../src/outputs/ffmpeg/playlist-watchdog.js';
import { writeMasterWhenReady } from '../../../src/outputs/ffmpeg/master-writer.js';
import type { FfmpegProcess } from '../../../src/outputs/ffmpeg/ffmpeg-process.js';
import type { RenditionConfig } from '../../../src/config/schema.js';

const log = pino({ level: 'silent' });
const tmp = () => mkdtempSync(join(tmpdir(), 'sd-parts-'));
const cam1 = { app: 'live', name: 'cam1' };

afterEach(() => {
  vi.useRealTimers();
});

describe('StreamDirectory', () => {
  it('makes an empty marked directory, and deletes only directories it marked', async () => {
    const root = tmp();
    const dir = new StreamDirectory(root, cam1);
    mkdirSync(dir.path, { recursive: true });
    writeFileSync(join(dir.path, 'old.ts'), 'x');
    await dir.prepareEmpty();
    expect(readdirSync(dir.path)).toEqual(['.stagedoor-stream']);
    // Someone else's directory where a stream would go: never deleted.
    const foreign = new StreamDirectory(root, { app: 'live', name: 'photos' });
    mkdirSync(foreign.path, { recursive: true });
    writeFileSync(join(foreign.path, 'holiday.jpg'), 'x');
    await foreign.remove();
    expect(existsSync(join(foreign.path, 'holiday.jpg'))).toBe(true);
    // What a restart finds: its own directories only.
    expect((await StreamDirectory.list(root)).map((d) => d.stream)).toEqual([cam1]);
    await dir.remove();
    expect(existsSync(dir.path)).toBe(false);
    expect(await StreamDirectory.list(root)).toEqual([]);
  });
});

describe('KeyRotator', () => {
  it('points FFmpeg at the newest key and keeps only the window the playlist can name', async () => {
    const dir = tmp();
    const keys = new KeyRotator(dir, 3);
    for (let i = 0; i < 5; i++) await keys.rotate();
    const info = readFileSync(keys.keyInfoFile, 'utf8').split('\n');
    expect(info[0]).toBe('k00005.key');
    expect(info[1]).toBe(join(dir, 'k00005.key'));
    expect(readFileSync(info[1]!)).toHaveLength(16);
    expect(readdirSync(dir).filter((f) => f.endsWith('.key'))).toEqual([
      'k00003.key',
      'k00004.key',
      'k00005.key',
    ]);
  });

  it('rotates on its interval until stopped', async () => {
    vi.useFakeTimers();
    const keys = new KeyRotator(tmp(), 10);
    const rotate = vi.spyOn(keys, 'rotate').mockResolvedValue('k');
    keys.rotateEvery(4000, () => {});
    await vi.advanceTimersByTimeAsync(12_000);
    expect(rotate).toHaveBeenCalledTimes(3);
    keys.stop();
    await vi.advanceTimersByTimeAsync(12_000);
    expect(rotate).toHaveBeenCalledTimes(3);
  });
});

describe('playlist watchdog', () => {
  it('names what is wrong with a playlist, or nothing when it is healthy', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'seg1.ts'), 'x');
    writeFileSync(join(dir, 'seg2.ts'), '');
    const list = (seg: string) => `#EXTM3U\n#EXTINF:1,\n${seg}\n`;
    expect(playlistProblem(dir, '', '')).toBe('playlist missing or empty');
    expect(playlistProblem(dir, list('seg1.ts'), list('seg1.ts'))).toBe('playlist not updated');
    expect(playlistProblem(dir, '#EXTM3U\n', '')).toBe('playlist lists no segment');
    expect(playlistProblem(dir, list('seg2.ts'), '')).toBe('newest segment is empty');
    expect(playlistProblem(dir, list('seg3.ts'), '')).toBe('newest segment missing');
    expect(playlistProblem(dir, list('seg1.ts'), '')).toBeUndefined();
  });

  it('kills a run whose playlist stops changing, after the startup grace and never while paused', async () => {
    vi.useFakeTimers();
    const dir = tmp();
    writeFileSync(join(dir, 'seg1.ts'), 'x');
    writeFileSync(join(dir, 'copy.m3u8'), '#EXTM3U\n#EXTINF:1,\nseg1.ts\n');
    const stop = vi.fn(async () => ({}));
    const process = {
      running: true,
      startedAt: Date.now(),
      stop,
      stderrTail: () => '',
    } as unknown as FfmpegProcess;
    let paused = true;
    const unwatch = watchPlaylist({
      process,
      dir,
      playlist: 'copy.m3u8',
      stallMs: 8000,
      isCurrent: () => true,
      paused: () => paused,
      log,
    });
    await vi.advanceTimersByTimeAsync(60_000); // paused (no publisher): never judged
    expect(stop).not.toHaveBeenCalled();
    paused = false;
    await vi.advanceTimersByTimeAsync(8_000); // healthy once, then unchanged for 8 s
    expect(stop).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(stop).toHaveBeenCalledTimes(1);
    unwatch();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(stop).toHaveBeenCalledTimes(1);
  });
});

describe('master playlist writer', () => {
  const renditions: RenditionConfig[] = [
    { name: 'copy', copy: true },
    { name: '360p', height: 360, videoBitrateKbps: 800, audioBitrateKbps: 96, preset: 'veryfast' },
  ];

  it('writes the master only once every rendition has its playlist', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'copy.m3u8'), '#EXTM3U\n');
    const written = writeMasterWhenReady({
      dir,
      renditions,
      isCurrent: () => true,
      sourceInfo: () => ({ width: 1280, height: 720, bitrate: 3e6, hasAudio: true }),
      log,
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(join(dir, 'index.m3u8'))).toBe(false);
    writeFileSync(join(dir, '360p.m3u8'), '#EXTM3U\n');
    expect(await written).toBe(true);
    const master = readFileSync(join(dir, 'index.m3u8'), 'utf8');
    expect(master).toContain('copy.m3u8');
    expect(master).toContain('360p.m3u8');
  });

  it('writes nothing for a run that ended first', async () => {
    const dir = tmp();
    let current = true;
    const written = writeMasterWhenReady({
      dir,
      renditions,
      isCurrent: () => current,
      sourceInfo: () => ({ hasAudio: false }),
      log,
    });
    current = false;
    expect(await written).toBe(false);
    expect(existsSync(join(dir, 'index.m3u8'))).toBe(false);
  });
});
