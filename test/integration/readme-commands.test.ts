// The README's shell blocks a user would paste (minting tokens, securing a stream, the admin API)
// run here, as written, against a real server: `npx stagedoor` is this checkout's CLI on the test
// server's config, `localhost:8081` its admin port, and curl fails on any HTTP error.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';

let server: TestServer;
let dir: string;
let configFile: string;

/** The README's ```sh blocks that name no placeholder (`<JWT>`, `HOST`, `…`): meant to paste as is. */
function pasteableBlocks(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  return [...readme.matchAll(/^ *```sh\n([\s\S]*?)^ *```/gm)]
    .map((m) => m[1]!.replace(/^ {2}/gm, ''))
    .filter((b) => !/<[A-Za-z ]+>|HOST|…|apt-get/.test(b));
}

/** Runs a block in bash (asynchronously: the server answering it runs in this process). */
function run(block: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const script = block.replaceAll('localhost:8081', `127.0.0.1:${server.adminPort}`);
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: dir,
    env: {
      ...process.env,
      PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
      STAGEDOOR_CONFIG: configFile,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    }),
  );
}

beforeAll(async () => {
  const config = testConfig();
  server = await startServer(config);
  dir = mkdtempSync(join(tmpdir(), 'sd-readme-'));
  configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const bin = join(dir, 'bin');
  spawnSync('mkdir', ['-p', bin]);
  const cli = resolve('dist/cli.js');
  writeFileSync(
    join(bin, 'npx'),
    `#!/bin/sh\nif [ "$1" = stagedoor ]; then shift; exec "${process.execPath}" "${cli}" "$@"; fi\necho "npx $1 is not the README's" >&2; exit 1\n`,
  );
  writeFileSync(join(bin, 'curl'), `#!/bin/sh\nexec /usr/bin/curl --fail-with-body -sS "$@"\n`);
  chmodSync(join(bin, 'npx'), 0o755);
  chmodSync(join(bin, 'curl'), 0o755);
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

describe("the README's commands", () => {
  it('has pasteable blocks: minting, securing a stream, the admin API', () => {
    const blocks = pasteableBlocks().join('\n');
    expect(blocks).toContain('npx stagedoor token');
    expect(blocks).toContain('curl -X PUT');
    expect(blocks).toContain('/api/v1/sessions');
  });

  it('each block runs as written and succeeds', async () => {
    // Blocks share a shell's variables in the order they come, as a reader pasting them would.
    const blocks = pasteableBlocks();
    let prelude = '';
    for (const block of blocks) {
      const result = await run(prelude + block);
      expect(result.status, `${block}\n${result.stderr}\n${result.stdout}`).toBe(0);
      prelude += block
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .join('\n');
      prelude += prelude ? '\n' : '';
    }
  }, 120_000);

  it('the stream the README opens is open afterwards', async () => {
    const res = await fetch(
      `http://127.0.0.1:${server.adminPort}/api/v1/streams/public/show/security`,
      { headers: { authorization: `Bearer ${ADMIN_API_KEY}` } },
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { play: string }).play).toBe('open');
  });
});
