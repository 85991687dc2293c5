import { describe, expect, it } from 'vitest';
import { TokenCache } from '../../../src/auth/token-cache.js';
import type { Grant } from '../../../src/auth/grant.js';

const grant = (expiresAt: number | undefined) => ({ expiresAt }) as Grant;

describe('token cache', () => {
  it('keeps a verified token until its expiry', () => {
    const cache = new TokenCache(10);
    cache.set('t', grant(2000), 1000);
    expect(cache.get('t', 1999)).toBeDefined();
    expect(cache.get('t', 2000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('is bounded and drops the least recently used first', () => {
    const cache = new TokenCache(2);
    cache.set('a', grant(9999), 0);
    cache.set('b', grant(9999), 0);
    cache.get('a', 1);
    cache.set('c', grant(9999), 1);
    expect(cache.get('b', 2)).toBeUndefined();
    expect(cache.get('a', 2)).toBeDefined();
    expect(cache.get('c', 2)).toBeDefined();
  });

  it('keeps tokens without exp only briefly, and nothing when disabled', () => {
    const cache = new TokenCache(2);
    cache.set('n', grant(undefined), 0);
    expect(cache.get('n', 59_999)).toBeDefined();
    expect(cache.get('n', 60_000)).toBeUndefined();
    const off = new TokenCache(0);
    off.set('x', grant(9999), 0);
    expect(off.get('x', 1)).toBeUndefined();
  });
});
