import { readFile, stat } from 'node:fs/promises';

/** A cached file is trusted this long before its mtime is checked again. */
const RECHECK_MS = 500;

/**
 * Recently served segment and key files, kept in memory. FFmpeg writes each segment under a
 * temporary name and renames it into place, so a file's bytes never change under the same
 * (path, mtime, size); a live stream's viewers all ask for the same few segments.
 */
export class SegmentCache {
  readonly #entries = new Map<string, { mtimeMs: number; bytes: Buffer; checkedAt: number }>();
  #total = 0;
  readonly #maxBytes: number;
  readonly #maxFileBytes: number;

  constructor(maxBytes = 64 * 1024 * 1024, maxFileBytes = 8 * 1024 * 1024) {
    this.#maxBytes = maxBytes;
    this.#maxFileBytes = maxFileBytes;
  }

  /** The file's bytes, from memory when unchanged since cached (re-checked at most every 500 ms). */
  async read(path: string, now = Date.now()): Promise<Buffer> {
    const cached = this.#entries.get(path);
    if (cached && now - cached.checkedAt < RECHECK_MS) return cached.bytes;
    const info = await stat(path);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.bytes.length === info.size) {
      cached.checkedAt = now;
      this.#entries.delete(path);
      this.#entries.set(path, cached);
      return cached.bytes;
    }
    const bytes = await readFile(path);
    if (cached) this.#drop(path);
    if (bytes.length <= this.#maxFileBytes && this.#maxBytes > 0) {
      this.#entries.set(path, { mtimeMs: info.mtimeMs, bytes, checkedAt: now });
      this.#total += bytes.length;
      while (this.#total > this.#maxBytes) this.#drop(this.#entries.keys().next().value as string);
    }
    return bytes;
  }

  #drop(path: string): void {
    const entry = this.#entries.get(path);
    if (!entry) return;
    this.#total -= entry.bytes.length;
    this.#entries.delete(path);
  }
}
