import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidName, type StreamPath } from '../core/stream-path.js';
import { streamDirOnDisk } from '../core/media-layout.js';

/** Marks a directory as a stream directory Stagedoor created (and may delete). */
export const STREAM_DIR_MARKER = '.stagedoor-stream';

/**
 * One stream's HLS directory under the media root: `<mediaDir>/<app>/<stream>/`. Stagedoor marks
 * the directories it makes and only ever deletes marked ones, so a misconfigured `mediaDir` that
 * points at other files loses nothing.
 */
export class StreamDirectory {
  readonly path: string;
  readonly stream: StreamPath;

  constructor(mediaDir: string, stream: StreamPath) {
    this.stream = stream;
    this.path = streamDirOnDisk(mediaDir, stream);
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

  /** When `file` in it last changed (ms since the epoch), or undefined if it is not there. */
  modifiedAt(file: string): number | undefined {
    try {
      return statSync(join(this.path, file)).mtimeMs;
    } catch {
      return undefined;
    }
  }

  /** Deletes the directory if Stagedoor made it. */
  async remove(): Promise<void> {
    if (existsSync(join(this.path, STREAM_DIR_MARKER)))
      await rm(this.path, { recursive: true, force: true });
  }

  /** The stream directories under the media root that Stagedoor made (marked). */
  static async list(mediaDir: string): Promise<StreamDirectory[]> {
    const found: StreamDirectory[] = [];
    if (!existsSync(mediaDir)) return found;
    for (const app of await readdir(mediaDir)) {
      const appDir = join(mediaDir, app);
      if (!isValidName(app) || !(await stat(appDir)).isDirectory()) continue;
      for (const name of await readdir(appDir)) {
        const dir = new StreamDirectory(mediaDir, { app, name });
        if (isValidName(name) && existsSync(join(dir.path, STREAM_DIR_MARKER))) found.push(dir);
      }
    }
    return found;
  }
}
