import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests run real ffmpeg publishers and measure expiry to ±0.3 s on 2 cores:
    // one file at a time keeps those timings honest.
    fileParallelism: false,
    // The leak test measures the heap after a forced garbage collection.
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
