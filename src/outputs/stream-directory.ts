import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StreamPath } from '../core/stream-path.js';

/** Marks a directory as a stream directory Stagedoor created (and may delete). */
export const STREAM_DIR_MARKER = '.stagedoor-stream';

/**
 * One stream's HLS directory under the media root: `<mediaDir>/<app>/<stream>/`. Stagedoor marks
 * the directories it makes and only ever deletes marked ones, so a misconfigured `mediaDir` that
 * points at other files loses nothing.
 */
export class StreamDirectory {
  readonly path: string;

  constructor(mediaDir: string, stream: StreamPath) {
    this.path = join(mediaDir, stream.app, stream.name);
  }

  /** An empty, marked directory (a previous run's files removed). */
  async prepareEmpty(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
    await this.ensure();
  }

  /** The directory exists and is marked (FFmpeg cannot create its own output directory). */
  async ensure(): Promise<void> {
    await mkdir(this.path, { recursive: true });
    await writeFile(join(this.path, STREAM_DIR_MARKER), '');
  }

  /** Deletes the directory if Stagedoor made it. */
  async remove(): Promise<void> {
    if (existsSync(join(this.path, STREAM_DIR_MARKER)))
      await rm(this.path, { recursive: true, force: true });
  }

  /** Removes stream directories a previous run left behind (only ones Stagedoor marked as its own). */
  static async removeStale(mediaDir: string): Promise<void> {
    if (!existsSync(mediaDir)) return;
    for (const app of await readdir(mediaDir)) {
      const appDir = join(mediaDir, app);
      if (!(await stat(appDir)).isDirectory()) continue;
      for (const name of await readdir(appDir))
        await new StreamDirectory(mediaDir, { app, name }).remove();
    }
  }
}
