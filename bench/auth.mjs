#!/usr/bin/env node
// Admission decisions per second through the whole authenticate() path (verify, revocation,
// scopes, stream security, access rules), cold (first sight of each token) and warm (cached),
// next to raw jose jwtVerify on the same tokens, on this machine, one core.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, jwtVerify, importSPKI } from 'jose';
import { parseConfig } from '../dist/config/load-config.js';
import { importTrustedKey } from '../dist/auth/import-key.js';
import { KeyStore } from '../dist/auth/key-store.js';
import { TokenCache } from '../dist/auth/token-cache.js';
import { TokenAuthenticator } from '../dist/auth/authenticator.js';
import { GeoIp } from '../dist/auth/geoip.js';
import { machine } from './lib.mjs';

const COLD = Number(process.env.BENCH_COLD ?? 3000);
const WARM = Number(process.env.BENCH_WARM ?? 100000);
const here = dirname(fileURLToPath(import.meta.url));

const secret = randomBytes(32).toString('hex');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = (k) => k.export({ type: 'spki', format: 'pem' }).toString();
const signers = {
  HS256: {
    kid: 'hs',
    key: new TextEncoder().encode(secret),
    verifyKey: new TextEncoder().encode(secret),
  },
  RS256: {
    kid: 'rs',
    key: rsa.privateKey,
    verifyKey: await importSPKI(spki(rsa.publicKey), 'RS256'),
  },
  ES256: {
    kid: 'es',
    key: ec.privateKey,
    verifyKey: await importSPKI(spki(ec.publicKey), 'ES256'),
  },
};

const config = parseConfig({
  auth: {
    keys: [
      { kid: 'hs', alg: 'HS256', secret },
      { kid: 'rs', alg: 'RS256', publicKey: spki(rsa.publicKey) },
      { kid: 'es', alg: 'ES256', publicKey: spki(ec.publicKey) },
    ],
  },
});
const keys = new KeyStore(
  await Promise.all(config.auth.keys.map((k, i) => importTrustedKey(k, `auth.keys[${i}]`))),
);
const authenticator = new TokenAuthenticator({
  keys,
  cache: new TokenCache(1_000_000),
  security: { ruleFor: () => undefined }, // no rule: the default (secured) settings
  revocations: { match: () => undefined },
  geo: new GeoIp(),
  clockToleranceSec: 0,
  requireExp: true,
  maxAccessRuleEntries: 5,
  singleUsePublish: false,
});
const request = (token) => ({
  token,
  action: 'play',
  protocol: 'hls',
  stream: { app: 'live', name: 'cam1' },
  address: '127.0.0.1',
});

async function mint(alg, n) {
  const { kid, key } = signers[alg];
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return Promise.all(
    Array.from({ length: n }, () =>
      new SignJWT({ scope: 'play' })
        .setProtectedHeader({ alg, kid })
        .setSubject('live/cam1')
        .setJti(randomUUID())
        .setExpirationTime(exp)
        .sign(key),
    ),
  );
}

async function rate(n, fn) {
  const started = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return n / ((performance.now() - started) / 1000);
}

const results = {};
for (const alg of Object.keys(signers)) {
  const tokens = await mint(alg, COLD);
  const rawTokens = await mint(alg, COLD);
  const { verifyKey } = signers[alg];
  const raw = await rate(COLD, (i) => jwtVerify(rawTokens[i], verifyKey, { algorithms: [alg] }));
  const cold = await rate(COLD, (i) => authenticator.authenticate(request(tokens[i])));
  const warm = await rate(WARM, (i) => authenticator.authenticate(request(tokens[i % 100])));
  results[alg] = {
    rawJoseVerifyPerSec: Math.round(raw),
    coldPerSec: Math.round(cold),
    warmPerSec: Math.round(warm),
    coldVsRaw: cold / raw,
    warmVsRaw: warm / raw,
  };
}

const host = machine();
console.log(`\nAdmission benchmark, ${new Date().toISOString()}, ${host}\n`);
console.log(
  '  alg     raw jose jwtVerify/s   authenticate cold/s (ratio)   authenticate warm/s (ratio)',
);
for (const [alg, r] of Object.entries(results)) {
  console.log(
    `  ${alg.padEnd(7)} ${String(r.rawJoseVerifyPerSec).padStart(20)}   ${String(r.coldPerSec).padStart(16)} (${r.coldVsRaw.toFixed(2)})   ${String(r.warmPerSec).padStart(16)} (${r.warmVsRaw.toFixed(1)})`,
  );
}
console.log('');
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'auth.json'),
  JSON.stringify(
    { date: new Date().toISOString(), machine: host, cold: COLD, warm: WARM, results },
    null,
    2,
  ),
);
