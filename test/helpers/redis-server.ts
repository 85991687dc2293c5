import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (bound, read, released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A real redis-server on 127.0.0.1, in memory only (or with an append-only file in `aofDir`, as
 * the cluster example configures it); it can be killed and started again on its port.
 */
export class TestRedis {
  readonly port: number;
  readonly #password: string | undefined;
  readonly #aofDir: string | undefined;
  #child: ChildProcess | undefined;

  private constructor(port: number, password: string | undefined, aofDir: string | undefined) {
    this.port = port;
    this.#password = password;
    this.#aofDir = aofDir;
  }

  /** Started on a free port; with `password`, clients must authenticate (`requirepass`). */
  static async start(options: { password?: string; aofDir?: string } = {}): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), options.password, options.aofDir);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again) on its port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        ...(this.#aofDir !== undefined
          ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.#aofDir]
          : ['--appendonly', 'no']),
        ...(this.#password !== undefined ? ['--requirepass', this.#password] : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`redis-server did not start: ${out}`)),
        10_000,
      );
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}): ${out}`));
      });
    });
  }

  /** Kills it at once (SIGKILL): what a crashed or unreachable Redis looks like to its clients. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Runs one command with redis-cli; its output, trimmed. */
  cli(...args: string[]): string {
    const auth = this.#password !== undefined ? ['--no-auth-warning', '-a', this.#password] : [];
    return execFileSync('redis-cli', ['-p', String(this.port), ...auth, ...args], {
      encoding: 'utf8',
    }).trim();
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}
