import { mkdir, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import type { Logger } from '../log/logger.js';
import { StagedoorError } from '../errors.js';

/** What to do with a state file that does not parse: set it aside and go on, or refuse to start. */
export type Unreadable = 'set-aside' | 'refuse';

/**
 * One JSON document of run-time state (revocations, stream security) that must survive a restart.
 * Writes are atomic (temp file, fsync, rename) and serialised, so a crash mid-write leaves the
 * previous version. A file that does not parse is never lost: it is set aside as `.corrupt-<time>`,
 * or, where starting without it would admit what it refuses, left in place and the start refused.
 */
export class JsonStateFile<T> {
  readonly path: string;
  readonly #log: Logger;
  #writing: Promise<void> = Promise.resolve();

  constructor(path: string, log: Logger) {
    this.path = path;
    this.#log = log;
  }

  async load(
    fallback: T,
    validate: (value: unknown) => T,
    unreadable: Unreadable = 'set-aside',
  ): Promise<T> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
      throw error;
    }
    try {
      return validate(JSON.parse(text));
    } catch (error) {
      if (unreadable === 'refuse')
        throw new StagedoorError(
          'STATE_UNREADABLE',
          `${this.path} cannot be read (${(error as Error).message}); starting without it would admit what it refuses. Restore it from a backup or mend it (a JSON array); to start with none, move it away knowingly`,
          { cause: error },
        );
      const aside = `${this.path}.corrupt-${Date.now()}`;
      await rename(this.path, aside);
      this.#log.error(
        { err: error, file: this.path, movedTo: aside },
        'state file unreadable, set aside',
      );
      return fallback;
    }
  }

  save(value: T): Promise<void> {
    const run = async (): Promise<void> => {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.path, `${JSON.stringify(value, null, 2)}\n`, 0o600);
    };
    this.#writing = this.#writing.then(run, run);
    return this.#writing;
  }
}
