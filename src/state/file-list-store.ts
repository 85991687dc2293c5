import type { Logger } from '../log/logger.js';
import type { JsonStateFile, Unreadable } from './json-state-file.js';
import { logEntryProblem, readEntries, type EntryReader } from './stored-entries.js';

export interface FileListStoreOptions<T> {
  /** What the list holds, for messages ("revocations"). */
  what: string;
  read: EntryReader<T>;
  /** How an entry is written (as it is, unless told). */
  write?: (entry: T) => unknown;
  log: Logger;
  /**
   * A file that cannot be read at all: set aside (losing it fails closed: ingest keys) or refuse
   * to start (losing it would fail open: revocations, stream rules).
   */
  unreadable: Unreadable;
}

/**
 * A list kept whole in one state file: what a store port of revocations or stream rules is on one
 * node. The change a save describes matters only to a shared store (a cluster's); here the list
 * after it is written. Entries are read one by one: one that cannot be read is left out and logged.
 */
export class FileListStore<T, Change> {
  readonly #file: JsonStateFile<T[]>;
  readonly #options: FileListStoreOptions<T>;

  constructor(file: JsonStateFile<T[]>, options: FileListStoreOptions<T>) {
    this.#file = file;
    this.#options = options;
  }

  load(): Promise<T[]> {
    const { what, read, log, unreadable } = this.#options;
    return this.#file.load(
      [],
      (value) => {
        if (!Array.isArray(value)) throw new TypeError(`expected an array of ${what}`);
        const indexed = value.map((v, i) => [String(i), v] as const);
        return readEntries(indexed, read, (problem) =>
          logEntryProblem(log, { file: this.#file.path }, what, problem),
        );
      },
      unreadable,
    );
  }

  save(_change: Change, all: readonly T[]): Promise<void> {
    const write = this.#options.write;
    return this.#file.save(write ? (all.map(write) as T[]) : [...all]);
  }
}
