// The real program, as `npm start` runs it: default config, banner, signals, exit codes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { publish, sleep } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';

const MAIN = resolve('dist/main.js');
const started: ChildProcess[] = [];

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

const CLI = resolve('dist/cli.js');

function startMain(
  args: string[],
  env: Record<string, string>,
  cwd: string,
  script = MAIN,
  as: { uid?: number; gid?: number } = {},
) {
  const child = spawn(process.execPath, [script, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...as,
  });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((res) =>
    child.on('exit', (code) => res({ code, at: Date.now() })),
  );
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

async function until<T>(get: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = get();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error('condition not met in time');
}

const loopback = {
  STAGEDOOR_RTMP_HOST: '127.0.0.1',
  STAGEDOOR_HTTP_HOST: '127.0.0.1',
  STAGEDOOR_ADMIN_HOST: '127.0.0.1',
  STAGEDOOR_RTMP_PORT: '0',
  STAGEDOOR_HTTP_PORT: '0',
  STAGEDOOR_ADMIN_PORT: '0',
};

describe('the stagedoor process', () => {
  it('starts on config/default.json, creates the dev secret, prints a stream key that publishes, and shuts down on SIGTERM', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sd-main-'));
    const main = startMain(['--config', resolve('config/default.json')], loopback, cwd);
    const banner = await until(() =>
      main.stderr().includes('valid until') ? main.stderr() : undefined,
    );
    expect(statSync(join(cwd, '.stagedoor/dev-secret')).mode & 0o777).toBe(0o600);
    const server = banner.match(/Server:\s+(rtmp:\/\/\S+)/)![1]!;
    const key = banner.match(/Stream key:\s+(\S+)/)![1]!;
    expect(banner).toMatch(/ffplay 'rtmp:\/\/localhost:\d+\/live\/cam1\?token=/);
    const hlsUrl = banner.match(
      /(http:\/\/localhost:\d+\/live\/cam1\/index\.m3u8\?token=\S+)/,
    )![1]!;
    expect(banner).toMatch(/\/player\.html#stream=live\/cam1&token=eyJ/);
    // As OBS does: server URL + "/" + stream key.
    const publisher = publish(`${server}/${key}`.replace('localhost', '127.0.0.1'), 30);
    try {
      await until(() => (main.stdout().includes('"event":"session_start"') ? true : undefined));
      expect(
        main
          .stdout()
          .split('\n')
          .filter(Boolean)
          .every((line) => line.startsWith('{')),
      ).toBe(true);
      // The printed HLS URL plays once the first segments exist.
      await eventually(
        async () =>
          (await fetch(hlsUrl.replace('localhost', '127.0.0.1'))).status === 200 ? true : undefined,
        20_000,
      );
      // The token tool signs with the same key from the same config: its token publishes too.
      const minted = spawn(
        process.execPath,
        [
          resolve('dist/cli.js'),
          'token',
          '--config',
          resolve('config/default.json'),
          '--sub',
          'live/tool',
          '--scope',
          'publish',
          '--ttl',
          '60',
        ],
        { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let jwt = '';
      minted.stdout!.on('data', (d: Buffer) => (jwt += d.toString()));
      await new Promise((r) => minted.on('exit', r));
      expect(jwt.trim()).toMatch(/^eyJ/);
      const toolPublisher = publish(
        `${server.replace('localhost', '127.0.0.1')}/tool?token=${jwt.trim()}`,
        30,
      );
      await until(() =>
        main
          .stdout()
          .split('\n')
          .some((l) => l.includes('"event":"session_start"') && l.includes('"subject":"live/tool"'))
          ? true
          : undefined,
      );
      // Its play token's HLS URL (printed with the config's port; this run listens elsewhere) plays.
      const viewer = spawn(
        process.execPath,
        [
          resolve('dist/cli.js'),
          'token',
          '--config',
          resolve('config/default.json'),
          '--sub',
          'live/tool',
          '--scope',
          'play',
          '--ttl',
          '5m',
        ],
        { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let printed = '';
      viewer.stderr!.on('data', (d: Buffer) => (printed += d.toString()));
      await new Promise((r) => viewer.on('exit', r));
      const hlsFromTool = printed
        .match(/^HLS: (\S+)$/m)![1]!
        .replace(
          /^http:\/\/localhost:\d+/,
          new URL(hlsUrl).origin.replace('localhost', '127.0.0.1'),
        );
      await eventually(
        async () => ((await fetch(hlsFromTool)).status === 200 ? true : undefined),
        20_000,
      );
      // --ingest-key: the tool exchanges its token at the running server for a short OBS stream key.
      const exchanged = spawn(
        process.execPath,
        [
          resolve('dist/cli.js'),
          'token',
          '--config',
          resolve('config/default.json'),
          '--sub',
          'live/short',
          '--scope',
          'publish',
          '--ttl',
          '5m',
          '--ingest-key',
          '--server',
          new URL(hlsUrl).origin.replace('localhost', '127.0.0.1'),
        ],
        { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let streamKey = '';
      exchanged.stdout!.on('data', (d: Buffer) => (streamKey += d.toString()));
      await new Promise((r) => exchanged.on('exit', r));
      expect(streamKey.trim()).toMatch(/^short\?key=sk_[A-Za-z0-9_-]{32}$/);
      const keyPublisher = publish(
        `${server.replace('localhost', '127.0.0.1')}/${streamKey.trim()}`,
        30,
      );
      await until(() =>
        main
          .stdout()
          .split('\n')
          .some(
            (l) => l.includes('"event":"session_start"') && l.includes('"subject":"live/short"'),
          )
          ? true
          : undefined,
      );
      expect(main.stdout()).not.toContain(streamKey.trim().split('=')[1]);
      keyPublisher.stop();
      toolPublisher.stop();
      await sleep(100);
      main.child.kill('SIGTERM');
      const exit = await main.exited;
      expect(exit.code).toBe(0);
      expect(main.stdout()).toContain('"reason":"shutdown"');
      const publisherExit = await publisher.exited;
      expect(publisherExit.code).not.toBe(0);
      expect(main.stdout()).not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./);
    } finally {
      publisher.stop();
    }
  });

  it('refuses to start on a config with an unknown key, naming it (exit 78)', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sd-main-'));
    writeFileSync(join(cwd, 'bad.json'), JSON.stringify({ rtmp: { prot: 1 } }));
    const main = startMain([], { ...loopback, STAGEDOOR_CONFIG: join(cwd, 'bad.json') }, cwd);
    const exit = await main.exited;
    expect(exit.code).toBe(78);
    expect(main.stderr()).toContain('unknown key "rtmp.prot"');
  });

  it('refuses to start without FFmpeg, saying how to install it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sd-main-'));
    const main = startMain(
      ['--config', resolve('config/default.json')],
      { ...loopback, STAGEDOOR_FFMPEG: '/nonexistent/ffmpeg' },
      cwd,
    );
    const exit = await main.exited;
    expect(exit.code).toBe(1);
    expect(main.stderr()).toContain('FFMPEG_MISSING');
    expect(main.stderr()).toContain('apt-get install -y ffmpeg');
  });

  it('exits on SIGINT too, and a port in use is a clear startup error', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sd-main-'));
    const first = startMain(['--config', resolve('config/default.json')], loopback, cwd);
    await until(() => (first.stdout().includes('"event":"listening"') ? true : undefined));
    const port = JSON.parse(
      first
        .stdout()
        .split('\n')
        .find((l) => l.includes('"event":"listening"'))!,
    )
      .rtmp.split(':')
      .pop();
    const second = startMain(
      ['--config', resolve('config/default.json')],
      { ...loopback, STAGEDOOR_RTMP_PORT: port },
      cwd,
    );
    const secondExit = await second.exited;
    expect(secondExit.code).toBe(1);
    expect(second.stderr()).toBe(
      `stagedoor: cannot start: PORT_UNAVAILABLE: rtmp.port ${port} is already in use on 127.0.0.1 (set rtmp.port in the config or STAGEDOOR_RTMP__PORT)\n`,
    );
    first.child.kill('SIGINT');
    expect((await first.exited).code).toBe(0);
  });

  it('a port in use, a port it may not open or a host that is not this machine: one line naming the setting and its variable, exit 1', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sd-main-'));
    const start = (
      env: Record<string, string>,
      as: { uid?: number; gid?: number } = {},
      dir = cwd,
    ) =>
      startMain(
        ['--config', resolve('config/default.json')],
        { ...loopback, ...env },
        dir,
        CLI,
        as,
      );
    const refusal = async (run: ReturnType<typeof start>) => {
      const exit = await run.exited;
      return { code: exit.code, stderr: run.stderr() };
    };
    const line = (message: string) => ({
      code: 1,
      stderr: `stagedoor: cannot start: PORT_UNAVAILABLE: ${message}\n`,
    });
    const holder = createServer();
    await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
    const port = (holder.address() as AddressInfo).port;
    try {
      // The legacy single-underscore variables put the port there; the message names the current ones.
      expect(await refusal(start({ STAGEDOOR_HTTP_PORT: String(port) }))).toEqual(
        line(
          `http.port ${port} is already in use on 127.0.0.1 (set http.port in the config or STAGEDOOR_HTTP__PORT)`,
        ),
      );
      expect(
        await refusal(start({ STAGEDOOR_ADMIN_PORT: '', STAGEDOOR_ADMIN__PORT: String(port) })),
      ).toEqual(
        line(
          `admin.port ${port} is already in use on 127.0.0.1 (set admin.port in the config or STAGEDOOR_ADMIN__PORT)`,
        ),
      );
    } finally {
      holder.close();
    }
    expect(await refusal(start({ STAGEDOOR_RTMP_HOST: '192.0.2.1' }))).toEqual(
      line(
        'rtmp.host 192.0.2.1 is not an address of this machine (set rtmp.host in the config or STAGEDOOR_RTMP__HOST)',
      ),
    );
    // A port below 1024 as an unprivileged user (this test runs as root, which may open it).
    if (process.getuid?.() === 0) {
      const nobodys = mkdtempSync(join(tmpdir(), 'sd-main-'));
      chmodSync(nobodys, 0o777);
      expect(
        await refusal(start({ STAGEDOOR_RTMP_PORT: '1' }, { uid: 65534, gid: 65534 }, nobodys)),
      ).toEqual(
        line(
          'rtmp.port 1 on 127.0.0.1 is not permitted to this process: ports below 1024 need root or CAP_NET_BIND_SERVICE (set rtmp.port in the config or STAGEDOOR_RTMP__PORT)',
        ),
      );
    }
  });

  it('stagedoor config check: prints the resolved config with secrets redacted, or the error, exit 1', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sd-check-'));
    const secret = 'config-check-secret-0123456789abcdef';
    const apiKey = 'config-check-api-key-0123456789';
    writeFileSync(
      join(cwd, 'c.json'),
      JSON.stringify({
        auth: { keys: [{ kid: 'k', alg: 'HS256', secret }] },
        admin: { apiKeys: [{ name: 'ops', key: apiKey }] },
      }),
    );
    const check = (env: Record<string, string>) =>
      startMain(
        ['config', 'check', '--config', join(cwd, 'c.json')],
        env,
        cwd,
        resolve('dist/cli.js'),
      );
    const envKey = 'config-check-env-key-0123456789';
    const ok = check({
      STAGEDOOR_HLS__SEGMENT_SEC: '2',
      STAGEDOOR_ADMIN__API_KEYS__0__KEY: envKey,
    });
    expect((await ok.exited).code).toBe(0);
    // The variables applied are named, their values (a secret here) are not.
    expect(ok.stderr()).toBe(
      [
        'stagedoor: STAGEDOOR_ADMIN__API_KEYS__0__KEY sets admin.apiKeys[0].key',
        'stagedoor: STAGEDOOR_HLS__SEGMENT_SEC sets hls.segmentSec',
        'stagedoor: playlist pass keys from stateDir (this node only), segment pass keys from stateDir (this node only)',
        `stagedoor: ${join(cwd, 'c.json')}: the configuration is valid`,
        '',
      ].join('\n'),
    );
    expect(ok.stdout()).not.toContain(envKey);
    const printed = JSON.parse(ok.stdout()) as {
      auth: { keys: Array<{ secret: string }> };
      admin: { apiKeys: Array<{ key: string }> };
      hls: { segmentSec: number };
    };
    expect(printed.hls.segmentSec).toBe(2);
    expect(printed.auth.keys[0]!.secret).toBe('[REDACTED]');
    expect(printed.admin.apiKeys[0]!.key).toBe('[REDACTED]');
    expect(ok.stdout() + ok.stderr()).not.toContain(secret);
    expect(ok.stdout() + ok.stderr()).not.toContain(apiKey);
    // In a cluster without configured pass keys, every node shares one set from Redis.
    const clustered = check({ STAGEDOOR_CLUSTER__REDIS__URL: 'redis://127.0.0.1:1' });
    expect((await clustered.exited).code).toBe(0);
    expect(clustered.stderr()).toContain(
      'playlist pass keys from Redis (created once, shared), segment pass keys from Redis (created once, shared)',
    );
    const bad = check({ STAGEDOOR_HTTP__PORT: 'eighty' });
    expect((await bad.exited).code).toBe(1);
    expect(bad.stderr()).toMatch(/CONFIG_INVALID: .*"http\.port".*\(from STAGEDOOR_HTTP__PORT\)/);
    writeFileSync(join(cwd, 'c.json'), JSON.stringify({ http: { prot: 8080 } }));
    const badFile = check({});
    expect((await badFile.exited).code).toBe(1);
    expect(badFile.stderr()).toMatch(/CONFIG_INVALID: .*"http\.prot"/);
    // The shipped default, as `npm start` runs it.
    const shipped = startMain(['config', 'check'], {}, resolve('.'), resolve('dist/cli.js'));
    expect((await shipped.exited).code).toBe(0);
    expect(shipped.stderr()).toContain('config/default.json: the configuration is valid');
    expect(shipped.stderr()).toContain('stagedoor: no STAGEDOOR_* variable sets a config key\n');
    const usage = startMain(['config', 'chek'], {}, cwd, resolve('dist/cli.js'));
    expect((await usage.exited).code).toBe(2);
  });

  it('packs into an installable package: the built CLI, pages, default config and deploy files, no sources', async () => {
    const out = mkdtempSync(join(tmpdir(), 'sd-pack-'));
    // dist/ is built by `npm test`; `prepack` builds it for a real `npm pack`.
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], {
        encoding: 'utf8',
      }),
    ) as Array<{ filename: string; files: Array<{ path: string; mode: number }> }>;
    const files = packed!.files.map((f) => f.path);
    for (const needed of [
      'dist/cli.js',
      'dist/main.js',
      'public/dashboard.js',
      'public/player.html',
      'config/default.json',
      'deploy/grafana/stagedoor.json',
      'deploy/systemd/stagedoor.service',
      'LICENSE',
      'README.md',
      'package.json',
    ])
      expect(files, needed).toContain(needed);
    expect(files.filter((f) => /^(src|test|bench|scripts)\/|\.map$|\.ts$/.test(f))).toEqual([]);
    // Unpacked elsewhere, with its dependencies, the `stagedoor` bin runs on the packaged default
    // config from any directory.
    execFileSync('tar', ['-xzf', join(out, packed!.filename), '-C', out]);
    symlinkSync(resolve('node_modules'), join(out, 'package', 'node_modules'));
    const cwd = mkdtempSync(join(tmpdir(), 'sd-installed-'));
    const check = startMain(['config', 'check'], {}, cwd, join(out, 'package', 'dist', 'cli.js'));
    expect((await check.exited).code).toBe(0);
    expect(check.stderr()).toContain(
      `${join(out, 'package', 'config', 'default.json')}: the configuration is valid`,
    );
    expect(existsSync(join(cwd, 'media'))).toBe(false); // a check writes nothing
  });

  it('`npx stagedoor` runs in a checkout without dist/ (as right after `npm ci`): prepare builds it; `npm ci --omit=dev` finishes, saying why it did not build', async () => {
    const copy = (parts: string[]) => {
      const dir = mkdtempSync(join(tmpdir(), 'sd-npx-'));
      for (const part of parts) cpSync(resolve(part), join(dir, part), { recursive: true });
      return dir;
    };
    const run = async (
      command: string,
      args: string[],
      cwd: string,
      env: Record<string, string> = {},
    ) => {
      const child = spawn(command, args, {
        cwd,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      started.push(child);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((done) => child.on('exit', done));
      return { code, out };
    };
    const sources = ['src', 'scripts', 'config', 'public', 'tsconfig.json', 'package.json'];
    // npx links the checkout into its own cache, running its prepare, then runs the bin.
    const checkout = copy([...sources, 'package-lock.json']);
    symlinkSync(resolve('node_modules'), join(checkout, 'node_modules'));
    // (Its own npx cache: the link it makes points at this temporary checkout.)
    const help = await run('npx', ['--offline', '--yes', 'stagedoor', 'help'], checkout, {
      npm_config_cache: join(checkout, '.npm-cache'),
    });
    expect(help.code, help.out).toBe(0);
    expect(help.out).toContain('stagedoor config check [--config FILE]');
    expect(existsSync(join(checkout, 'dist', 'cli.js'))).toBe(true);
    // Production dependencies only (from the npm cache the repository's own install filled): no
    // TypeScript, so no build, and the install still succeeds.
    const production = copy([...sources, 'package-lock.json']);
    const install = await run(
      'npm',
      ['ci', '--prefer-offline', '--omit=dev', '--no-audit'],
      production,
    );
    expect(install.code, install.out).toBe(0);
    expect(install.out).toContain(
      'stagedoor: prepare: TypeScript is not installed (dev dependencies omitted), dist/ not built',
    );
    expect(existsSync(join(production, 'dist'))).toBe(false);
  }, 90_000);

  it('npm start (scripts/start.mjs) builds dist/ when it is missing, and runs the server without building when it is current', async () => {
    // A checkout without dist/: its own copy of the sources, the repository's node_modules.
    const checkout = mkdtempSync(join(tmpdir(), 'sd-checkout-'));
    for (const part of ['src', 'scripts', 'config', 'public', 'package.json', 'tsconfig.json'])
      cpSync(resolve(part), join(checkout, part), { recursive: true });
    symlinkSync(resolve('node_modules'), join(checkout, 'node_modules'));
    const start = (cwd: string) =>
      startMain(
        [],
        { ...loopback, STAGEDOOR_STATE_DIR: join(cwd, 'state') },
        cwd,
        join(checkout, 'scripts', 'start.mjs'),
      );
    const first = start(checkout);
    await until(() => (first.stderr().includes('Stagedoor is up') ? true : undefined), 60_000);
    expect(first.stderr()).toContain('building dist/');
    expect(existsSync(join(checkout, 'dist', 'cli.js'))).toBe(true);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    const second = start(checkout);
    await until(() => (second.stderr().includes('Stagedoor is up') ? true : undefined), 30_000);
    expect(second.stderr()).not.toContain('building dist/');
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 90_000);
});
