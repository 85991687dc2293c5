import { Writable } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { createStagedoor, type Stagedoor } from '../../src/app.js';
import { HS_SECRET, type RsaPair } from './tokens.js';

export interface LogLine {
  level: number;
  msg: string;
  event?: string;
  code?: string;
  reason?: string;
  [key: string]: unknown;
}

export const ADMIN_API_KEY = 'ops-api-key-0123456789abcdef';

export interface TestServer {
  stagedoor: Stagedoor;
  rtmpPort: number;
  httpPort: number;
  adminPort: number;
  mediaDir: string;
  logs: LogLine[];
  rawLog: string[];
  url(stream: string, token?: string): string;
  hlsUrl(stream: string, token?: string, file?: string): string;
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  stop(): Promise<void>;
}

export function testConfig(rsa?: RsaPair, overrides: Partial<ConfigInput> = {}): ConfigInput {
  // rtmp, http and auth overrides are merged into the loopback defaults, never replace them:
  // a test server must never listen beyond 127.0.0.1 or on a fixed port.
  const { rtmp, http, auth, ...rest } = overrides;
  const keys: NonNullable<ConfigInput['auth']>['keys'] = [
    { kid: 'hs', alg: 'HS256', secret: HS_SECRET, actions: ['publish', 'play', 'admin'] },
  ];
  if (rsa) keys.push({ kid: 'rs', alg: 'RS256', publicKey: rsa.publicPem });
  return {
    rtmp: { host: '127.0.0.1', port: 0, ...rtmp },
    http: { host: '127.0.0.1', port: 0, ...http },
    admin: { host: '127.0.0.1', port: 0, apiKeys: [{ name: 'ops', key: ADMIN_API_KEY }] },
    log: { level: 'debug' },
    banner: { enabled: false },
    mediaDir: mkdtempSync(join(tmpdir(), 'sd-media-')),
    stateDir: mkdtempSync(join(tmpdir(), 'sd-state-')),
    ...rest,
    auth: { keys, clockToleranceSec: 0, ...auth },
  };
}

/** A real Stagedoor on 127.0.0.1 with free ports; its JSON log lines are collected for assertions. */
export async function startServer(config: ConfigInput = testConfig()): Promise<TestServer> {
  const logs: LogLine[] = [];
  const rawLog: string[] = [];
  const waiters = new Set<() => void>();
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) {
        rawLog.push(text);
        logs.push(JSON.parse(text) as LogLine);
      }
      for (const wake of waiters) wake();
      done();
    },
  });
  const parsed = parseConfig(config);
  for (const [name, listen] of [
    ['rtmp', parsed.rtmp],
    ['http', parsed.http],
    ['admin', parsed.admin],
  ] as const) {
    if (listen.host !== '127.0.0.1' || listen.port !== 0)
      throw new Error(
        `test server ${name} must listen on 127.0.0.1:0, not ${listen.host}:${listen.port}`,
      );
  }
  const log = createLogger({ level: parsed.log.level, destination });
  const stagedoor = await createStagedoor(parsed, log);
  const { rtmp, http, admin } = await stagedoor.start();
  return {
    stagedoor,
    rtmpPort: rtmp.port,
    httpPort: http.port,
    adminPort: admin?.port ?? -1,
    mediaDir: parsed.mediaDir,
    logs,
    rawLog,
    url: (stream, token) =>
      `rtmp://127.0.0.1:${rtmp.port}/${stream}${token === undefined ? '' : `?token=${token}`}`,
    hlsUrl: (stream, token, file = 'index.m3u8') =>
      `http://127.0.0.1:${http.port}/${stream}/${file}${token === undefined ? '' : `?token=${token}`}`,
    waitForLog(match, timeoutMs = 5000) {
      const found = logs.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error('log line not seen in time'));
        }, timeoutMs);
        const check = (): void => {
          const hit = logs.find(match);
          if (hit) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(hit);
          }
        };
        waiters.add(check);
      });
    },
    stop: () => stagedoor.stop(),
  };
}
