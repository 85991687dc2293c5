#!/usr/bin/env node
// `npm start`: builds dist/ only when it is missing or older than src/ (a fresh checkout, an edit),
// then runs the server in this process with the arguments given (`npm start -- --config FILE`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

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
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  if (!existsSync(tsc)) {
    process.stderr.write(
      'stagedoor: dist/ is missing or older than src/, and TypeScript is not installed: run `npm ci` (with dev dependencies), then `npm start`\n',
    );
    process.exit(1);
  }
  process.stderr.write('stagedoor: building dist/ (src/ changed)…\n');
  const build = spawnSync(tsc, ['-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
await import(pathToFileURL(cli).href);
