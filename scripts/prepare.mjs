#!/usr/bin/env node
// `prepare`: npm runs it after `npm ci` / `npm install` in a checkout (and when `npx stagedoor` links the
// checkout), so the `stagedoor` bin, dist/cli.js, exists right after the install. Where it cannot
// build it says why and lets the install finish: no TypeScript (`npm ci --omit=dev`), or no sources
// (an install step before src/ is copied in).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const config = join(root, 'tsconfig.json');
if (!existsSync(join(root, 'src')) || !existsSync(config)) {
  process.stderr.write('stagedoor: prepare: no src/ or tsconfig.json here, dist/ not built\n');
  process.exit(0);
}
const tsc = join(root, 'node_modules', '.bin', 'tsc');
if (!existsSync(tsc)) {
  process.stderr.write(
    'stagedoor: prepare: TypeScript is not installed (dev dependencies omitted), dist/ not built: run `npm ci` with dev dependencies, or build elsewhere and copy dist/\n',
  );
  process.exit(0);
}
const build = spawnSync(tsc, ['-p', config], { stdio: 'inherit' });
process.exit(build.status ?? 1);
