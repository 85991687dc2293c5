#!/usr/bin/env node
// `npm start`: builds dist/ only when it is missing or older than src/ (a fresh checkout, an edit),
// then runs the server in this process with the arguments given (`npm start -- --config FILE`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;

/** The newest modification time of the files under `dir`. */
function newest(dir) {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    time = Math.max(time, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return time;
}

const cli = join(root, 'dist', 'cli.js');
const sources = join(root, 'src');
const stale =
  !existsSync(cli) ||
  (existsSync(sources) &&
    Math.max(newest(sources), statSync(join(root, 'tsconfig.json')).mtimeMs) >
      newest(join(root, 'dist')));
if (stale) {
  process.stderr.write('stagedoor: building dist/ (src/ changed)…\n');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], {
    stdio: 'inherit',
  });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
await import(pathToFileURL(cli).href);
