import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../src/core/rate-limiter.js';

describe('rate limiter', () => {
  it('lets `limit` events per key through in a window, says how long to wait, and starts afresh after it', () => {
    let now = 1_000;
    const limiter = new RateLimiter({ limit: 3, windowMs: 60_000, now: () => now });
    expect([1, 2, 3].map(() => limiter.take('a'))).toEqual([undefined, undefined, undefined]);
    expect(limiter.take('a')).toBe(60_000);
    expect(limiter.take('b')).toBeUndefined(); // keys apart
    now += 45_000;
    expect(limiter.take('a')).toBe(15_000);
    now += 15_000;
    expect(limiter.take('a')).toBeUndefined();
  });

  it('stays bounded under a flood of distinct keys', () => {
    let now = 0;
    const limiter = new RateLimiter({ limit: 1, windowMs: 1000, maxKeys: 100, now: () => now });
    for (let i = 0; i < 10_000; i++) {
      now++;
      expect(limiter.take(`k${i}`)).toBeUndefined();
    }
    // The newest keys are still counted.
    expect(limiter.take('k9999')).toBeGreaterThan(0);
  });
});
