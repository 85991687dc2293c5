import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { armExpiryTimer, MAX_TIMEOUT_MS } from '../../../src/sessions/expiry-timer.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_800_000_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('expiry timer', () => {
  it('fires exactly at the instant, not before', () => {
    const fired = vi.fn();
    armExpiryTimer(Date.now() + 3000, fired);
    vi.advanceTimersByTime(2999);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledOnce();
  });

  it('fires at once for an instant already past', () => {
    const fired = vi.fn();
    armExpiryTimer(Date.now() - 1, fired);
    expect(fired).toHaveBeenCalledOnce();
  });

  it('re-arms waits beyond setTimeout’s 2^31-1 ms limit and still fires on time', () => {
    const fired = vi.fn();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const at = Date.now() + MAX_TIMEOUT_MS * 2 + 5000; // ~50 days
    armExpiryTimer(at, fired);
    expect(Math.max(...spy.mock.calls.map((c) => Number(c[1])))).toBeLessThanOrEqual(
      MAX_TIMEOUT_MS,
    );
    vi.advanceTimersByTime(MAX_TIMEOUT_MS * 2);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(4999);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledOnce();
    expect(Date.now()).toBe(at);
    spy.mockRestore();
  });

  it('does not fire once cancelled', () => {
    const fired = vi.fn();
    const timer = armExpiryTimer(Date.now() + 1000, fired);
    timer.cancel();
    vi.advanceTimersByTime(5000);
    expect(fired).not.toHaveBeenCalled();
  });
});
