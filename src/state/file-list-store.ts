import type { JsonStateFile } from './json-state-file.js';

/**
 * A list kept whole in one state file: what a store port of revocations, stream rules or ingest
 * keys is on one node. The change a save describes matters only to a shared store (a cluster's);
 * here the list after it is written. `parse` reads the file's value (throwing sets the file aside).
 */
export class FileListStore<T, Change> {
  readonly #file: JsonStateFile<T[]>;
  readonly #parse: (value: unknown) => T[];

  constructor(file: JsonStateFile<T[]>, parse: (value: unknown) => T[]) {
    this.#file = file;
    this.#parse = parse;
  }

  load(): Promise<T[]> {
    return this.#file.load([], this.#parse);
  }

  save(_change: Change, all: readonly T[]): Promise<void> {
    return this.#file.save([...all]);
  }
}

/** A parser for `FileListStore`: an array, its entries that pass `keep` (the others dropped). */
export function arrayOf<T>(what: string, keep: (v: unknown) => v is T): (value: unknown) => T[] {
  return (value) => {
    if (!Array.isArray(value)) throw new TypeError(`expected an array of ${what}`);
    return value.filter(keep);
  };
}
