/** setTimeout cannot wait longer than this; longer waits are split and re-armed. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface ExpiryTimer {
  /** The instant (ms since epoch) the timer fires at. */
  readonly at: number;
  cancel(): void;
}

/**
 * Calls `onExpire` once, as soon as the clock reaches `at`. Delays beyond setTimeout's limit are
 * re-armed in steps, and the clock is re-read on every wake-up, so a far exp still fires on time.
 */
export function armExpiryTimer(
  at: number,
  onExpire: () => void,
  now: () => number = Date.now,
): ExpiryTimer {
  let handle: NodeJS.Timeout | undefined;
  let cancelled = false;
  const schedule = (): void => {
    const remaining = at - now();
    if (remaining <= 0) {
      handle = undefined;
      if (!cancelled) {
        cancelled = true;
        onExpire();
      }
      return;
    }
    handle = setTimeout(schedule, Math.min(remaining, MAX_TIMEOUT_MS));
    handle.unref();
  };
  schedule();
  return {
    at,
    cancel() {
      cancelled = true;
      if (handle) clearTimeout(handle);
      handle = undefined;
    },
  };
}
