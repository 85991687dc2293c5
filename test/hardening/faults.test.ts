// Faults around the server: an identity provider that hangs, a media disk that fills up, and a
// SIGTERM while publishers, viewers and state writes are in flight.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, testConfig } from '../helpers/server.js';
import { publish, sleep } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { HS_SECRET, nowSec, rsaPair, token } from '../helpers/tokens.js';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function ffmpegProcessesUsing(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return cmd.includes('ffmpeg') && cmd.includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('faults', () => {
  it('a JWKS endpoint that never answers: its tokens are refused after the timeout, everything else works', async () => {
    const hang = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => {
      hang.closeAllConnections();
      hang.close();
    });
    const port = (hang.address() as { port: number }).port;
    const issuer = `http://127.0.0.1:${port}`;
    const server = await startServer(
      testConfig(undefined, {
        auth: {
          issuers: [
            {
              issuer,
              jwksUri: `${issuer}/jwks`,
              allowHttp: true,
              timeoutSec: 1,
              jwksCooldownSec: 5,
            },
          ],
        },
      }),
    );
    cleanups.push(() => server.stop());
    const { privateKey } = rsaPair();
    const foreign = await new SignJWT({ scope: 'play' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k' })
      .setIssuer(issuer)
      .setSubject('x')
      .setExpirationTime(nowSec() + 60)
      .sign(privateKey);
    const started = Date.now();
    const res = await fetch(server.hlsUrl('live/any', foreign));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('KEY_UNKNOWN');
    expect(Date.now() - started).toBeLessThan(2500);
    // Within the cooldown no second wait: refused at once.
    const again = Date.now();
    expect((await fetch(server.hlsUrl('live/any', foreign))).status).toBe(401);
    expect(Date.now() - again).toBeLessThan(300);
    // Static-key tokens are unaffected; readiness reports the issuer without keys.
    mkdirSync(join(server.mediaDir, 'live', 'ok'), { recursive: true });
    writeFileSync(join(server.mediaDir, 'live', 'ok', 'index.m3u8'), '#EXTM3U\n');
    expect((await fetch(server.hlsUrl('live/ok', await token('live/ok', 'play')))).status).toBe(
      200,
    );
    const ready = await fetch(`http://127.0.0.1:${server.adminPort}/readyz`);
    expect(ready.status).toBe(503);
  });

  const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
  it.runIf(canMount)(
    'the media disk fills up mid-stream: FFmpeg is detected stuck, restarted, and the stream recovers when space returns',
    async () => {
      const mediaDir = mkdtempSync(join(tmpdir(), 'sd-full-'));
      expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mediaDir]).status).toBe(
        0,
      );
      cleanups.push(() => spawnSync('umount', ['-l', mediaDir]));
      const server = await startServer({
        ...testConfig(undefined, {
          hls: { restartBackoffMaxSec: 1, cleanupAfterSec: 0.2, packager: { enabled: false } },
        }),
        mediaDir,
      });
      cleanups.push(() => server.stop());
      const publisher = publish(
        server.url('live/full', await token('live/full', 'publish')),
        120,
        '320x180',
      );
      const playlist = join(mediaDir, 'live', 'full', 'copy.m3u8');
      try {
        await server.waitForLog((l) => l.event === 'hls_ready' && l.stream === 'live/full', 20_000);
        // Fill the disk to the last byte, and keep it full: FFmpeg deletes old segments, and the
        // filler takes back whatever they free.
        const filler = join(mediaDir, 'filler');
        const fd = openSync(filler, 'w');
        const fill = (): void => {
          try {
            for (;;) writeSync(fd, Buffer.alloc(4096));
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          }
        };
        fill();
        const keepFull = setInterval(fill, 20);
        cleanups.push(() => clearInterval(keepFull));
        const stuck = await server
          .waitForLog(
            (l) =>
              (l.event === 'ffmpeg_stalled' || l.event === 'ffmpeg_exited') &&
              l.stream === 'live/full',
            60_000,
          )
          .catch((error: unknown) => {
            throw new Error(
              `${String(error)}: ${server.logs
                .map(
                  (l) =>
                    `${l.event ?? l.msg}:${String(l.stream ?? '')}:${String(l.problem ?? l.kind ?? '')}`,
                )
                .join(' | ')
                .slice(-3000)} DIR ${readdirSync(join(mediaDir, 'live', 'full')).join(',')}`,
            );
          });
        expect(stuck.level).toBe(50);
        expect((await fetch(`http://127.0.0.1:${server.httpPort}/healthz`)).status).toBe(200);
        expect(
          server.stagedoor.registry
            .list()
            .some((s) => s.stream.name === 'full' && s.kind === 'publisher'),
        ).toBe(true);
        // Space comes back: a new FFmpeg run writes segments again.
        clearInterval(keepFull);
        closeSync(fd);
        unlinkSync(filler);
        const restartedAt = Date.now();
        await eventually(
          () => (statSync(playlist).mtimeMs > restartedAt ? true : undefined),
          30_000,
        );
      } finally {
        publisher.stop();
      }
      await eventually(
        () => (ffmpegProcessesUsing(mediaDir).length === 0 ? true : undefined),
        10_000,
      );
    },
    150_000,
  );

  it('SIGTERM under load: exits cleanly, no FFmpeg left, state files intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-term-'));
    const mediaDir = join(dir, 'media');
    const stateDir = join(dir, 'state');
    const configFile = join(dir, 'config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        ...testConfig(),
        // FFmpeg under load is what is stopped here (a passthrough stream would run none).
        hls: { packager: { enabled: false } },
        mediaDir,
        stateDir,
        log: { level: 'info', pretty: false },
        auth: {
          keys: [
            { kid: 'hs', alg: 'HS256', secret: HS_SECRET, actions: ['publish', 'play', 'admin'] },
          ],
        },
      }),
    );
    const child = spawn(process.execPath, [resolve('dist/main.js'), '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const listening = await eventually(
      () => out.split('\n').find((l) => l.includes('"event":"listening"')),
      15_000,
    );
    const ports = JSON.parse(listening) as { rtmp: string; http: string; admin: string };
    const rtmpPort = ports.rtmp.split(':').pop();
    const adminPort = ports.admin.split(':').pop();
    const publishers = await Promise.all(
      ['a', 'b', 'c'].map(async (n) =>
        publish(
          `rtmp://127.0.0.1:${rtmpPort}/live/${n}?token=${await token(`live/${n}`, 'publish')}`,
          60,
          '320x180',
        ),
      ),
    );
    cleanups.push(() => publishers.forEach((p) => p.stop()));
    await eventually(
      () => (ffmpegProcessesUsing(mediaDir).length === 3 ? true : undefined),
      20_000,
    );
    const adminToken = await new SignJWT({ scope: 'admin' })
      .setProtectedHeader({ alg: 'HS256', kid: 'hs' })
      .setSubject('ops')
      .setExpirationTime(nowSec() + 60)
      .sign(new TextEncoder().encode(HS_SECRET));
    const revoke = (i: number) =>
      fetch(`http://127.0.0.1:${adminPort}/api/v1/revocations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'jti', value: `jti-${i}` }),
      }).then(
        (r) => r.status,
        () => 0,
      );
    expect(await Promise.all([0, 1, 2, 3, 4].map(revoke))).toEqual([201, 201, 201, 201, 201]);
    // More state writes in flight when the signal lands.
    const realWrites = Array.from({ length: 30 }, (_, i) => revoke(i + 5));
    const writes: Array<Promise<unknown>> = [];
    await sleep(2);
    const sentAt = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    await Promise.all([...writes, ...realWrites]);
    expect(
      code,
      out
        .split('\n')
        .filter((l) => /shutdown|stopp|error|fatal|timeout/.test(l))
        .join('\n')
        .slice(-3000),
    ).toBe(0);
    expect(Date.now() - sentAt).toBeLessThan(8000);
    expect(out).toContain('"reason":"shutdown"');
    expect(ffmpegProcessesUsing(mediaDir)).toEqual([]);
    const files = readdirSync(stateDir);
    expect(files).toContain('revocations.json');
    expect(files.filter((f) => f.includes('.tmp') || f.includes('corrupt'))).toEqual([]);
    const saved = JSON.parse(readFileSync(join(stateDir, 'revocations.json'), 'utf8')) as Array<{
      value: string;
    }>;
    expect(saved.length).toBeGreaterThanOrEqual(5);
    expect(saved.every((r) => r.value.startsWith('jti-'))).toBe(true);
  });
});
