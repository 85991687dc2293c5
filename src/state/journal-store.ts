import { mkdir, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import type { Logger } from '../log/logger.js';
import { logEntryProblem, readEntries, type EntryReader } from './stored-entries.js';

/** One line of a journal: an entry set (added or replaced), or one removed by id. */
type JournalLine = { set: unknown } | { del: string };

export interface JournalStoreOptions<T> {
  /** What the journal holds, for messages ("ingest keys"). */
  what: string;
  /** Reads one entry (a `set` line's value, which carries its `id`). */
  read: EntryReader<T>;
  log: Logger;
  /**
   * An older whole-file copy (a JSON array) to take over when there is no journal yet: read once,
   * written into the journal, then removed.
   */
  legacy?: { path: string };
}

/** Rewrite the journal whole once it holds more than this many lines beyond twice the live entries. */
const SLACK_LINES = 64;

/**
 * A keyed collection in an append-only journal (JSON lines `{"set":…}` / `{"del":"id"}`), each change
 * appended and fsynced: one change costs one short write, however many entries there are (a whole
 * file rewritten per change would cost O(n) each, O(n²) for a flood). Once dead lines outnumber the
 * live entries it is rewritten atomically. A torn last line (a crash mid-append) is ignored; any
 * other line that cannot be read is left out and logged.
 */
export class JournalStore<T> {
  readonly path: string;
  readonly #options: JournalStoreOptions<T>;
  #handle: FileHandle | undefined;
  #lines = 0;

  constructor(path: string, options: JournalStoreOptions<T>) {
    this.path = path;
    this.#options = options;
  }

  async load(): Promise<T[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return this.#takeOverLegacy();
    }
    const live = new Map<string, [string, unknown]>();
    const lines = text.split('\n');
    const torn = !text.endsWith('\n') ? lines.length - 1 : -1;
    let count = 0;
    for (const [i, line] of lines.entries()) {
      if (line === '') continue;
      count++;
      let parsed: JournalLine;
      try {
        parsed = JSON.parse(line) as JournalLine;
      } catch (error) {
        if (i === torn) continue; // the append a crash cut short: that change never happened
        this.#problem(`line ${i + 1}`, `not JSON: ${(error as Error).message}`);
        continue;
      }
      if (parsed !== null && typeof parsed === 'object' && 'del' in parsed)
        live.delete(String(parsed.del));
      else if (parsed !== null && typeof parsed === 'object' && 'set' in parsed) {
        const id = (parsed.set as { id?: unknown } | null)?.id;
        live.set(typeof id === 'string' ? id : `line ${i + 1}`, [`line ${i + 1}`, parsed.set]);
      } else this.#problem(`line ${i + 1}`, 'neither {"set":…} nor {"del":…}');
    }
    this.#lines = count;
    const entries = readEntries(live.values(), this.#options.read, (problem) =>
      logEntryProblem(this.#options.log, { file: this.path }, this.#options.what, problem),
    );
    // The next append must not continue a torn line.
    if (torn !== -1 && lines[torn] !== '') await this.#rewrite(entries);
    return entries;
  }

  /** Appends one change (fsynced); `all` is the collection after it, written whole when compacting. */
  async save(set: readonly T[], removed: readonly string[], all: readonly T[]): Promise<void> {
    if (this.#lines + set.length + removed.length > 2 * all.length + SLACK_LINES) {
      await this.#rewrite(all);
      return;
    }
    const lines = [
      ...set.map((entry) => JSON.stringify({ set: entry })),
      ...removed.map((id) => JSON.stringify({ del: id })),
    ];
    if (lines.length === 0) return;
    const handle = await this.#open();
    await handle.write(`${lines.join('\n')}\n`);
    await handle.sync();
    this.#lines += lines.length;
  }

  async close(): Promise<void> {
    await this.#handle?.close();
    this.#handle = undefined;
  }

  async #open(): Promise<FileHandle> {
    if (this.#handle) return this.#handle;
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    this.#handle = await open(this.path, 'a', 0o600);
    return this.#handle;
  }

  async #rewrite(all: readonly T[]): Promise<void> {
    await this.close();
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const text = all.map((entry) => `${JSON.stringify({ set: entry })}\n`).join('');
    await writeFileAtomic(this.path, text, 0o600);
    this.#lines = all.length;
  }

  async #takeOverLegacy(): Promise<T[]> {
    const legacy = this.#options.legacy;
    if (!legacy) return [];
    let value: unknown;
    try {
      value = JSON.parse(await readFile(legacy.path, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      this.#problem(legacy.path, `unreadable: ${(error as Error).message}`);
      return [];
    }
    if (!Array.isArray(value)) this.#problem(legacy.path, 'not a JSON array');
    const values = Array.isArray(value) ? value : [];
    const entries = readEntries(
      values.map((v, i) => [`${legacy.path}[${i}]`, v] as const),
      this.#options.read,
      (problem) =>
        logEntryProblem(this.#options.log, { file: legacy.path }, this.#options.what, problem),
    );
    await this.#rewrite(entries);
    await rm(legacy.path, { force: true });
    this.#options.log.info(
      { event: 'state_migrated', from: legacy.path, to: this.path, entries: entries.length },
      `the ${this.#options.what} moved to a journal`,
    );
    return entries;
  }

  #problem(id: string, reason: string): void {
    logEntryProblem(this.#options.log, { file: this.path }, this.#options.what, {
      id,
      reason,
      kept: false,
    });
  }
}
