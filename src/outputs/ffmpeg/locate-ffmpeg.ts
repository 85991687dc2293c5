import { spawnSync } from 'node:child_process';
import { StagedoorError } from '../../errors.js';

/** Finds a working FFmpeg: config, else $STAGEDOOR_FFMPEG, else `ffmpeg` on PATH. Returns path and version. */
export function locateFfmpeg(
  configured: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { path: string; version: string } {
  const path = configured ?? env.STAGEDOOR_FFMPEG ?? 'ffmpeg';
  const result = spawnSync(path, ['-hide_banner', '-version'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (result.error || result.status !== 0) {
    const why = result.error
      ? ((result.error as NodeJS.ErrnoException).code ?? result.error.message)
      : `exit code ${result.status}`;
    throw new StagedoorError(
      'FFMPEG_MISSING',
      `FFmpeg not found or not working at "${path}" (${why}). Install it (Debian: apt-get install -y ffmpeg), set hls.ffmpegPath or STAGEDOOR_FFMPEG, or set hls.enabled to false.`,
      { cause: result.error },
    );
  }
  const version = /ffmpeg version (\S+)/.exec(result.stdout)?.[1] ?? 'unknown';
  return { path, version };
}
