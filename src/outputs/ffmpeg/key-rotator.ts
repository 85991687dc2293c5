import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../state/atomic-write.js';

/**
 * AES-128 keys for one stream's HLS segments. FFmpeg re-reads the key info file before each
 * segment (`periodic_rekey`); rotating means writing a new key file and pointing the info file
 * at it. Keys still referenced by the playlist window are kept, older ones deleted.
 */
export class KeyRotator {
  readonly keyInfoFile: string;
  readonly #dir: string;
  readonly #keep: number;
  #serial = 0;
  readonly #keys: string[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(streamDir: string, keep: number) {
    this.#dir = streamDir;
    this.#keep = Math.max(2, keep);
    this.keyInfoFile = join(streamDir, '.keyinfo');
  }

  /** Writes a fresh key and points FFmpeg at it. Key files are served only to authorised viewers. */
  async rotate(): Promise<string> {
    const name = `k${String(++this.#serial).padStart(5, '0')}.key`;
    const path = join(this.#dir, name);
    await writeFileAtomic(path, randomBytes(16), 0o600);
    // Line 1: URI written into the playlist (rewritten per viewer on the way out); line 2: key file.
    await writeFileAtomic(this.keyInfoFile, `${name}\n${path}\n`, 0o600);
    this.#keys.push(path);
    while (this.#keys.length > this.#keep) await rm(this.#keys.shift()!, { force: true });
    return name;
  }

  /** Rotates every `everyMs` until `stop` (a failed rotation is reported; the old key stays in use). */
  rotateEvery(everyMs: number, onError: (error: unknown) => void): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.rotate().catch(onError), everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
