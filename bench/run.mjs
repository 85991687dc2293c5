#!/usr/bin/env node
// `npm run bench`: every benchmark, one after the other (they must not share the CPU).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

for (const script of [
  'auth.mjs',
  'rtmp-gate.mjs',
  'rtmp-flood.mjs',
  'expiry.mjs',
  'hls.mjs',
  'ladder.mjs',
  'edge.mjs',
  'recovery.mjs',
  'concurrency.mjs',
  'viewers.mjs',
  'll-viewers.mjs',
  'latency.mjs',
]) {
  const result = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], {
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
