import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log/logger.js';
import type { FfmpegProcess } from './ffmpeg-process.js';

/** FFmpeg gets this long to produce its first playlist before the watchdog starts judging it. */
const STARTUP_GRACE_MS = 15_000;

export interface PlaylistWatchdogOptions {
  process: FfmpegProcess;
  /** The stream directory and the playlist judged (the first rendition's). */
  dir: string;
  playlist: string;
  /** Unhealthy for longer than this, the run is killed. */
  stallMs: number;
  /** False once another run replaced this one: the watchdog then stops by itself. */
  isCurrent: () => boolean;
  /** True while no output is expected (no publisher, media being dropped to the next key frame). */
  paused: () => boolean;
  log: Logger;
}

/**
 * An FFmpeg that runs but writes nothing useful (a full disk leaves it renaming empty files into
 * place; a wedged muxer writes nothing at all) would leave viewers on a broken or frozen playlist
 * forever. The watchdog judges one playlist: it must be non-empty, keep changing, and name a
 * non-empty newest segment. Unhealthy for too long, the run is killed and its supervisor restarts it
 * like a crash. Returns a function that stops watching.
 */
export function watchPlaylist(options: PlaylistWatchdogOptions): () => void {
  const { process, dir, playlist, stallMs, log } = options;
  const playlistPath = join(dir, playlist);
  let lastHealthy = Date.now();
  let lastText = '';
  const timer = setInterval(() => {
    if (!options.isCurrent() || !process.running) {
      clearInterval(timer);
      return;
    }
    const now = Date.now();
    if (now - process.startedAt < STARTUP_GRACE_MS || options.paused()) {
      lastHealthy = now;
      return;
    }
    const text = readFileSafe(playlistPath);
    const problem = playlistProblem(dir, text, lastText);
    if (problem === undefined) {
      lastHealthy = now;
      lastText = text;
      return;
    }
    if (now - lastHealthy > stallMs) {
      log.error(
        {
          event: 'ffmpeg_stalled',
          problem,
          sinceMs: now - lastHealthy,
          stderr: process.stderrTail(),
        },
        'ffmpeg is not producing a usable playlist, killing it',
      );
      lastHealthy = now;
      void process.stop(1000, { finish: false });
    }
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Why the playlist (its text now, and at the last healthy check) is not healthy, or undefined when it is. */
export function playlistProblem(dir: string, text: string, previous: string): string | undefined {
  if (text === '') return 'playlist missing or empty';
  if (text === previous) return 'playlist not updated';
  const newest = text
    .split('\n')
    .filter((l) => /\.(ts|m4s)$/.test(l.trim()))
    .pop();
  if (!newest) return 'playlist lists no segment';
  try {
    if (statSync(join(dir, newest.trim())).size === 0) return 'newest segment is empty';
  } catch {
    return 'newest segment missing';
  }
  return undefined;
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export interface SegmentWatchdogOptions {
  process: FfmpegProcess;
  /** When the newest segment was made; it must keep moving. */
  lastSegmentAt: () => number | undefined;
  stallMs: number;
  isCurrent: () => boolean;
  paused: () => boolean;
  log: Logger;
}

/**
 * The watchdog for an FFmpeg whose output is packaged in memory: a run that makes no new segment
 * for `stallMs` (a wedged encoder, an output pipe gone quiet) is killed and restarted like a crash.
 */
export function watchSegments(options: SegmentWatchdogOptions): () => void {
  const { process, stallMs, log } = options;
  let lastHealthy = Date.now();
  let lastSeen = options.lastSegmentAt();
  const timer = setInterval(() => {
    if (!options.isCurrent() || !process.running) {
      clearInterval(timer);
      return;
    }
    const now = Date.now();
    const newest = options.lastSegmentAt();
    if (now - process.startedAt < STARTUP_GRACE_MS || options.paused() || newest !== lastSeen) {
      lastHealthy = now;
      lastSeen = newest;
      return;
    }
    if (now - lastHealthy > stallMs) {
      log.error(
        {
          event: 'ffmpeg_stalled',
          problem: 'no new segment',
          sinceMs: now - lastHealthy,
          stderr: process.stderrTail(),
        },
        'ffmpeg is not producing segments, killing it',
      );
      lastHealthy = now;
      void process.stop(1000, { finish: false });
    }
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}
