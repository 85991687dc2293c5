#!/usr/bin/env node
// `stagedoor token …` mints a token with a key from the same config the server uses.
// `stagedoor [--config FILE]` with no command starts the server.
import { parseArgs } from 'node:util';
import { loadConfig, resolveConfigPath } from './config/load-config.js';
import { importTrustedKey } from './auth/import-key.js';
import { mintToken } from './auth/mint-token.js';
import { isStagedoorError } from './errors.js';

const USAGE = `usage:
  stagedoor [--config FILE]                      start the server
  stagedoor token --sub STREAM --scope publish|play [--ttl SECONDS] [--kid KID] [--host HOST] [--config FILE]
                                                 print a token signed with an HS key of the config,
                                                 with the OBS server/stream key or the play URL`;

async function token(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      sub: { type: 'string' },
      scope: { type: 'string', default: 'publish' },
      ttl: { type: 'string', default: '3600' },
      kid: { type: 'string' },
      host: { type: 'string' },
    },
    strict: true,
  });
  const config = loadConfig({ file: resolveConfigPath(values.config ? ['--config', values.config] : []) });
  const ttlSec = Number(values.ttl);
  if (!Number.isInteger(ttlSec) || ttlSec <= 0) throw new TypeError('--ttl must be a positive whole number of seconds');
  if (!values.sub) throw new TypeError('--sub is required: the stream, as cam1 or live/cam1');
  const entries = config.auth.keys.map((k, i) => ({ k, i })).filter(({ k }) => k.alg.startsWith('HS') && (values.kid === undefined || k.kid === values.kid));
  const entry = entries[0];
  if (!entry) throw new TypeError(values.kid ? `no HS key with kid ${values.kid} in the config` : 'the config has no HS key this tool can sign with');
  const key = await importTrustedKey(entry.k, `auth.keys[${entry.i}]`);
  const jwt = await mintToken(key, { subject: values.sub, scope: values.scope, ttlSec });
  const [app, name] = values.sub.includes('/') ? values.sub.split('/', 2) : [config.banner.app, values.sub];
  const host = values.host ?? config.banner.publicHost;
  const base = `rtmp://${host}:${config.rtmp.port}/${app}`;
  process.stdout.write(`${jwt}\n`);
  if (values.scope?.split(/\s+/).some((s) => s.startsWith('publish'))) {
    process.stderr.write(`OBS server: ${base}\nOBS stream key: ${name}?token=${jwt}\n`);
  }
  if (values.scope?.split(/\s+/).some((s) => s.startsWith('play'))) {
    process.stderr.write(`Play: ffplay '${base}/${name}?token=${jwt}'\n`);
  }
}

async function run(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'token') return token(rest);
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  await import('./main.js');
}

run().catch((error: unknown) => {
  const message = isStagedoorError(error) ? `${error.code}: ${error.message}` : (error as Error).message;
  process.stderr.write(`stagedoor: ${message}\n${USAGE}\n`);
  process.exit(2);
});
