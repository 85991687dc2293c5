// The cache in front of another node, with a fake clock: concurrent askers share one fetch, an
// answer is reused for its time to live and then fetched again, a failure is not kept, and the
// bytes held stay under the bound.
import { describe, expect, it } from 'vitest';
import { CoalescingCache } from '../../../src/delivery/hop/coalescing-cache.js';

let now = 1_000;
const clock = () => now;
const bytes = (n: number) => new Uint8Array(n);

describe('CoalescingCache', () => {
  it('shares one fetch among concurrent askers and reuses its answer until it lapses', async () => {
    const cache = new CoalescingCache<Uint8Array>(1 << 20, clock);
    let calls = 0;
    let release!: (value: Uint8Array) => void;
    const fetch = () =>
      new Promise<Uint8Array>((resolve) => {
        calls++;
        release = resolve;
      });
    const waiting = Array.from({ length: 10 }, () => cache.get('k', 500, fetch, (b) => b.length));
    release(bytes(10));
    const answers = await Promise.all(waiting);
    expect(calls).toBe(1);
    expect(new Set(answers).size).toBe(1);
    now += 499;
    await cache.get('k', 500, fetch, (b) => b.length);
    expect(calls).toBe(1);
    now += 2;
    const again = cache.get('k', 500, fetch, (b) => b.length);
    release(bytes(10));
    await again;
    expect(calls).toBe(2);
  });

  it('forgets a failed fetch at once, so the next asker tries again', async () => {
    const cache = new CoalescingCache<Uint8Array>(1 << 20, clock);
    await expect(
      cache.get(
        'k',
        60_000,
        () => Promise.reject(new Error('down')),
        (b) => b.length,
      ),
    ).rejects.toThrow('down');
    expect(
      await cache.get(
        'k',
        60_000,
        async () => bytes(3),
        (b) => b.length,
      ),
    ).toHaveLength(3);
  });

  it('drops the oldest answers past its byte bound', async () => {
    const cache = new CoalescingCache<Uint8Array>(100, clock);
    for (let i = 0; i < 5; i++)
      await cache.get(
        `k${i}`,
        60_000,
        async () => bytes(40),
        (b) => b.length,
      );
    expect(cache.size).toBe(2);
    let fetched = false;
    await cache.get(
      'k4',
      60_000,
      async () => ((fetched = true), bytes(40)),
      (b) => b.length,
    );
    expect(fetched).toBe(false); // the newest is kept
  });
});
