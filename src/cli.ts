#!/usr/bin/env node
// `stagedoor token …` mints a token with a key from the same config the server uses;
// `stagedoor keygen --alg ES256` prints a new key pair; `stagedoor config check` validates the config;
// `stagedoor [--config FILE]` starts the server.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { exportJWK } from 'jose';
import { formatPath, loadConfig, readConfig, resolveConfigPath } from './config/load-config.js';
import { resolveRuntimeInputs } from './compose/runtime.js';
import { passKeysFrom } from './compose/passes.js';
import { importTrustedKey } from './auth/import-key.js';
import { mintToken } from './auth/mint-token.js';
import { isStagedoorError } from './errors.js';
import { redactText } from './log/redact.js';
import { SUPPORTED_ALGS, type SupportedAlg } from './config/schema.js';
import { parseDuration } from './core/duration.js';

const USAGE = `usage:
  stagedoor [--config FILE]             start the server
  stagedoor token [--sub STREAM] [--scope publish|play|admin] [--ttl 1h] [--key KID]
                  [--ip ADDR|CIDR]… [--origin URL]… [--country CC]… [--host HOST] [--config FILE]
                  [--ingest-key [--server URL]]
                                        print a token signed with an HS key of the config, then
                                        (on stderr) the OBS server and stream key, or the viewer URLs.
                                        Without --sub the token is for every stream the key allows
                                        (the URLs then use banner.app/banner.stream). --ingest-key
                                        exchanges the token at the running server (--server, default
                                        http://HOST:http.port) for a short OBS stream key
  stagedoor keygen --alg ES256|RS256|PS256|EdDSA|HS256 [--kid KID]
                                        print a new key pair (PEM and JWK) and the config entry
  stagedoor config check [--config FILE]
                                        validate the config (file, then STAGEDOOR_* variables; TLS
                                        files read, proxies parsed), print it resolved with secrets
                                        redacted and name the variables applied; exit 1 if it is
                                        not valid, as nginx -t does
exit status: 0 done, 1 configuration error, 2 usage error`;

async function token(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      sub: { type: 'string' },
      scope: { type: 'string', default: 'publish' },
      ttl: { type: 'string', default: '1h' },
      key: { type: 'string' },
      kid: { type: 'string' },
      host: { type: 'string' },
      ip: { type: 'string', multiple: true },
      origin: { type: 'string', multiple: true },
      country: { type: 'string', multiple: true },
      'ingest-key': { type: 'boolean', default: false },
      server: { type: 'string' },
    },
    strict: true,
  });
  const config = loadConfig({
    file: resolveConfigPath(values.config ? ['--config', values.config] : []),
  });
  const ttlSec = parseDuration(values.ttl!);
  if (values.scope!.split(/\s+/).includes('admin') && values['ingest-key'])
    throw new TypeError('--ingest-key is for publish tokens');
  const kid = values.key ?? values.kid;
  const entries = config.auth.keys
    .map((k, i) => ({ k, i }))
    .filter(({ k }) => k.alg.startsWith('HS') && (kid === undefined || k.kid === kid));
  const entry = entries[0];
  if (!entry)
    throw new TypeError(
      kid
        ? `no HS key with kid ${kid} in the config`
        : 'the config has no HS key this tool can sign with',
    );
  const key = await importTrustedKey(entry.k, `auth.keys[${entry.i}]`);
  const allow: Record<string, string[]> = {};
  if (values.ip?.length) allow.ips = values.ip;
  if (values.origin?.length) allow.origins = values.origin;
  if (values.country?.length) allow.countries = values.country.map((c) => c.toLowerCase());
  const jwt = await mintToken(key, {
    subject: values.sub,
    scope: values.scope,
    ttlSec,
    ...(Object.keys(allow).length ? { claims: { access: { allow } } } : {}),
  });
  const target = values.sub ?? `${config.banner.app}/${config.banner.stream}`;
  const [app, name] = target.includes('/') ? target.split('/', 2) : [config.banner.app, target];
  const host = values.host ?? config.banner.publicHost;
  const rtmpBase = `rtmp://${host}:${config.rtmp.port}/${app}`;
  // As the startup banner does: https when the HTTP port serves TLS, and the RTMPS server beside RTMP.
  const httpBase = `${config.http.tls ? 'https' : 'http'}://${host}:${config.http.port}`;
  const rtmpsBase = config.rtmp.tls ? `rtmps://${host}:${config.rtmp.tls.port}/${app}` : undefined;
  if (values['ingest-key']) {
    const server = values.server ?? httpBase;
    const response = await fetch(`${server.replace(/\/$/, '')}/ingest-keys/${app}/${name}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}` },
    });
    const body = (await response.json()) as {
      key?: string;
      streamKey?: string;
      server?: string;
      expiresAt?: string;
      error?: { code: string; message: string };
    };
    if (!response.ok || !body.streamKey)
      throw new TypeError(
        `the server refused the exchange: ${body.error?.code ?? response.status} ${body.error?.message ?? ''}`.trim(),
      );
    process.stdout.write(`${body.streamKey}\n`);
    process.stderr.write(
      `OBS server: ${body.server ?? rtmpBase}\nOBS stream key: ${body.streamKey}\nvalid until ${body.expiresAt}\n`,
    );
    return;
  }
  process.stdout.write(`${jwt}\n`);
  const scopes = values.scope!.split(/\s+/);
  const lines = [
    `valid for ${ttlSec} s (until ${new Date(Date.now() + ttlSec * 1000).toISOString()})`,
  ];
  if (scopes.some((s) => s.startsWith('publish'))) {
    lines.push(
      `OBS server: ${rtmpBase}`,
      ...(rtmpsBase ? [`OBS server over TLS: ${rtmpsBase}`] : []),
      `OBS stream key: ${name}?token=${jwt}`,
      `Browser: ${httpBase}/publish.html#stream=${app}/${name}&token=${jwt}`,
    );
  }
  if (scopes.some((s) => s.startsWith('play'))) {
    lines.push(
      `HLS: ${httpBase}/${app}/${name}/index.m3u8?token=${jwt}`,
      `Player: ${httpBase}/player.html#stream=${app}/${name}&token=${jwt}`,
      `RTMP: ${rtmpBase}/${name}?token=${jwt}`,
    );
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}

async function keygen(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { alg: { type: 'string', default: 'ES256' }, kid: { type: 'string' } },
    strict: true,
  });
  const alg = values.alg as SupportedAlg;
  if (!SUPPORTED_ALGS.includes(alg))
    throw new TypeError(`--alg must be one of ${SUPPORTED_ALGS.join(', ')}`);
  const kid = values.kid ?? `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`;
  if (alg.startsWith('HS')) {
    const secret = randomBytes({ HS256: 32, HS384: 48, HS512: 64 }[alg as 'HS256'] ?? 32).toString(
      'base64url',
    );
    process.stdout.write(`${JSON.stringify({ kid, alg, secret }, null, 2)}\n`);
    return;
  }
  const pair =
    alg.startsWith('RS') || alg.startsWith('PS')
      ? generateKeyPairSync('rsa', { modulusLength: 3072 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : alg === 'ES384'
          ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
          : generateKeyPairSync('ed25519');
  // Node 20 can deadlock if a GC finalises the key-generation job while its key is being exported
  // (both take the key's mutex): collect it first.
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
  const privateJwk = { ...(await exportJWK(pair.privateKey)), kid, alg, use: 'sig' };
  process.stdout.write(
    [
      '# Private key: keep it with whatever signs tokens (your backend). Stagedoor never needs it.',
      privatePem.trim(),
      JSON.stringify(privateJwk),
      '',
      '# Public key: give it to Stagedoor (auth.keys[]).',
      publicPem.trim(),
      JSON.stringify(publicJwk),
      '',
      '# Config entry:',
      JSON.stringify({ kid, alg, publicKey: publicPem }),
      '',
    ].join('\n'),
  );
}

/** Config keys whose values never leave the server, wherever they are. */
const SECRET_CONFIG_KEYS = new Set([
  'secret',
  'key',
  'password',
  'd',
  'p',
  'q',
  'dp',
  'dq',
  'qi',
  'k',
]);

function redactConfig(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactConfig);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      typeof v !== 'string'
        ? redactConfig(v)
        : SECRET_CONFIG_KEYS.has(k)
          ? '[REDACTED]'
          : k === 'url'
            ? redactText(v)
            : v,
    ]),
  );
}

/** `stagedoor config check`: what the server would run with, or why it would not start. */
function configCheck(args: string[]): void {
  if (args[0] !== 'check') throw new TypeError(`unknown config command ${args[0] ?? ''}`);
  const file = resolveConfigPath(args.slice(1));
  const { config, overrides } = readConfig({ file });
  resolveRuntimeInputs(config); // TLS files, trusted proxies: what a start would read first
  process.stdout.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
  // Names only: a variable's value may be a secret.
  const applied = [...overrides].sort((a, b) => a.variable.localeCompare(b.variable));
  process.stderr.write(
    applied.length === 0
      ? 'stagedoor: no STAGEDOOR_* variable sets a config key\n'
      : applied.map((o) => `stagedoor: ${o.variable} sets ${formatPath(o.path)}\n`).join(''),
  );
  // Where viewer passes are sealed and signed from: a cluster's nodes must agree on it.
  const { keys, edgeKeys } = config.hls.passes;
  const from = (configured: typeof keys) => passKeysFrom(configured, config.cluster);
  const where = {
    config: 'the config',
    redis: 'Redis (created once, shared)',
    stateDir: 'stateDir (this node only)',
  };
  process.stderr.write(
    `stagedoor: playlist pass keys from ${where[from(keys)]}, segment pass keys from ${where[from(edgeKeys)]}\n`,
  );
  process.stderr.write(`stagedoor: ${file}: the configuration is valid\n`);
}

async function run(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'token') return token(rest);
  if (command === 'config') return configCheck(rest);
  if (command === 'keygen') return keygen(rest);
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (command !== undefined && !command.startsWith('--'))
    throw new TypeError(`unknown command ${command}`);
  await import('./main.js');
}

// Exit 1: the configuration (or what it names) is wrong, as nginx -t says; exit 2: the command line is.
run().catch((error: unknown) => {
  if (isStagedoorError(error)) {
    process.stderr.write(`stagedoor: ${error.code}: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`stagedoor: ${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
});
