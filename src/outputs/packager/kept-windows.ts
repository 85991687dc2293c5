import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log/logger.js';
import { writeFileAtomic } from '../../state/atomic-write.js';
import { StreamDirectory } from '../stream-directory.js';
import {
  RenditionWindow,
  type RenditionWindowOptions,
  type WindowSnapshot,
} from './rendition-window.js';

// A packaged stream lives in memory. When Stagedoor stops with its publisher live (a deploy), its
// windows (one per rendition) are written into the stream's directory, and the next process serves
// them from there and continues them, so that players go on; nothing is on disk while it runs.

export const KEPT_WINDOW_FILE = 'packager-window.json';

interface KeptFile {
  master: string | undefined;
  windows: WindowSnapshot[];
}

/** A stream's windows as the previous process kept them, and the master it served. */
export interface KeptStream {
  windows: RenditionWindow[];
  master: string | undefined;
}

/** Where one stream's windows are kept across a restart. */
export class KeptWindow {
  readonly #dir: StreamDirectory;

  constructor(dir: StreamDirectory) {
    this.#dir = dir;
  }

  async save(snapshots: WindowSnapshot[], master: string | undefined): Promise<void> {
    await this.#dir.ensure();
    const kept: KeptFile = { master, windows: snapshots };
    await writeFileAtomic(join(this.#dir.path, KEPT_WINDOW_FILE), JSON.stringify(kept));
  }

  /** The stream's directory goes (its time is up, or the stream ended). */
  remove(): Promise<void> {
    return this.#dir.remove();
  }
}

/**
 * The windows the previous process kept, by stream key; each file is read once and removed (a
 * window that cannot be read is logged and left out: its viewers start afresh).
 */
export async function loadKeptWindows(
  mediaDir: string,
  options: Omit<RenditionWindowOptions, 'name' | 'start'>,
  log: Logger,
): Promise<Map<string, KeptStream>> {
  const found = new Map<string, KeptStream>();
  for (const dir of await StreamDirectory.list(mediaDir)) {
    const file = join(dir.path, KEPT_WINDOW_FILE);
    if (!existsSync(file)) continue;
    const key = `${dir.stream.app}/${dir.stream.name}`;
    try {
      const kept = JSON.parse(await readFile(file, 'utf8')) as KeptFile;
      const master = typeof kept.master === 'string' ? kept.master : undefined;
      const windows = kept.windows.map((w) => RenditionWindow.restore(w, options));
      found.set(key, { windows, master });
    } catch (error) {
      log.warn(
        { err: error, stream: key, event: 'kept_window_unreadable' },
        'a kept window cannot be read',
      );
    }
    await rm(file, { force: true });
  }
  return found;
}
