import type { Logger } from '../log/logger.js';

/**
 * One stored entry as read: the entry (`mended` says what was made of a part that could not be
 * read), or why it cannot be used at all (then it is left out). Both are told.
 */
export type ReadEntry<T> = { entry: T; mended?: string } | { dropped: string };

/** Reads one stored entry (a state file's array item, a Redis hash field's value). */
export type EntryReader<T> = (value: unknown, id: string) => ReadEntry<T>;

/** What became of an entry that could not be read whole. */
export interface EntryProblem {
  id: string;
  reason: string;
  /** True when the entry is kept (mended), false when it is left out. */
  kept: boolean;
}

/**
 * Reads stored entries one by one: one entry that cannot be read (a hand edit, a newer version's
 * field) never costs the others; each one mended or left out is passed to `told` with its reason.
 */
export function readEntries<T>(
  values: Iterable<readonly [string, unknown]>,
  read: EntryReader<T>,
  told: (problem: EntryProblem) => void,
): T[] {
  const entries: T[] = [];
  for (const [id, value] of values) {
    const result = read(value, id);
    if ('entry' in result) {
      entries.push(result.entry);
      if (result.mended !== undefined) told({ id, reason: result.mended, kept: true });
    } else told({ id, reason: result.dropped, kept: false });
  }
  return entries;
}

/** The log line for an entry that could not be read whole, in a state file or a shared store. */
export function logEntryProblem(
  log: Logger,
  where: { file: string } | { shared: string },
  what: string,
  problem: EntryProblem,
): void {
  log.warn(
    {
      event: problem.kept ? 'state_entry_mended' : 'state_entry_dropped',
      ...where,
      entry: problem.id,
      reason: problem.reason,
    },
    problem.kept
      ? `an entry of the stored ${what} could not be read whole; kept as the log line says`
      : `an entry of the stored ${what} cannot be read and is left out`,
  );
}
