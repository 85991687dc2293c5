// Issue #10 (1): the tokens the two guides Stagedoor follows produce must work as those guides say.
// Vidbeo ("JWT for private videos"): a key registered by its public key and kid; the most basic token
// is `jwt.sign({}, key, { algorithm: 'RS256', expiresIn: '1h', keyid })`, passed as ?jwt=, and plays
// every stream that key covers; `sub`, when present, restricts it to one stream. THEOlive ("token based
// security"): a distribution with its own key; tokens carry only exp and nbf, sent as a Bearer token.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';

const dir = mkdtempSync(join(tmpdir(), 'sd-guides-'));
const openssl = (...args: string[]) =>
  execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
openssl('genrsa', '-traditional', '-out', join(dir, 'vidbeo.pem'), '2048');
openssl(
  'rsa',
  '-in',
  join(dir, 'vidbeo.pem'),
  '-RSAPublicKey_out',
  '-out',
  join(dir, 'vidbeo-public.pem'),
);
openssl('genrsa', '-out', join(dir, 'strict.pem'), '2048');
openssl('rsa', '-in', join(dir, 'strict.pem'), '-pubout', '-out', join(dir, 'strict-public.pem'));
openssl('genrsa', '-out', join(dir, 'theo.pem'), '2048');
openssl('rsa', '-in', join(dir, 'theo.pem'), '-pubout', '-out', join(dir, 'theo-public.pem'));
const read = (name: string) => readFileSync(join(dir, name), 'utf8');

let server: TestServer;

beforeAll(async () => {
  const config = testConfig();
  config.auth!.keys!.push(
    { kid: 'vid-1', alg: 'RS256', publicKey: read('vidbeo-public.pem') },
    { kid: 'strict-1', alg: 'RS256', publicKey: read('strict-public.pem'), requireSub: true },
  );
  server = await startServer(config);
  for (const stream of ['live/a', 'vod/b', 'theo/dist2']) {
    mkdirSync(join(server.mediaDir, stream), { recursive: true });
    writeFileSync(join(server.mediaDir, stream, 'index.m3u8'), '#EXTM3U\n');
  }
});
afterAll(async () => {
  await server.stop();
});

async function play(stream: string, init: { jwt?: string; bearer?: string }): Promise<string> {
  const url = `http://127.0.0.1:${server.httpPort}/${stream}/index.m3u8${init.jwt ? `?jwt=${init.jwt}` : ''}`;
  const res = await fetch(url, {
    headers: init.bearer ? { authorization: `Bearer ${init.bearer}` } : {},
  });
  return res.status === 200 ? 'ok' : ((await res.json()) as { error: { code: string } }).error.code;
}

describe('the Vidbeo guide', () => {
  it('the most basic token (no sub, "only restriction is that it expires in one hour") plays every stream its key covers, as ?jwt=', async () => {
    const basic = jwt.sign({}, read('vidbeo.pem'), {
      algorithm: 'RS256',
      expiresIn: '1h',
      keyid: 'vid-1',
    });
    expect(await play('live/a', { jwt: basic })).toBe('ok');
    expect(await play('vod/b', { jwt: basic })).toBe('ok');
    // … and publishes, the key allowing both (its default actions).
    const client = await RawRtmpClient.open(server.rtmpPort);
    await client.handshake();
    client.connectApp('live');
    client.publish(`studio?jwt=${basic}`);
    expect((await client.waitForStatus(() => true))?.code).toBe('NetStream.Publish.Start');
    client.destroy();
  });

  it('with sub it plays only that stream', async () => {
    const one = jwt.sign({}, read('vidbeo.pem'), {
      algorithm: 'RS256',
      expiresIn: '1h',
      keyid: 'vid-1',
      subject: 'live/a',
    });
    expect(await play('live/a', { jwt: one })).toBe('ok');
    expect(await play('vod/b', { jwt: one })).toBe('STREAM_DENIED');
  });

  it('a key with requireSub keeps the binding mandatory', async () => {
    const basic = jwt.sign({}, read('strict.pem'), {
      algorithm: 'RS256',
      expiresIn: '1h',
      keyid: 'strict-1',
    });
    expect(await play('live/a', { jwt: basic })).toBe('STREAM_DENIED');
    const bound = jwt.sign({}, read('strict.pem'), {
      algorithm: 'RS256',
      expiresIn: '1h',
      keyid: 'strict-1',
      subject: 'live/a',
    });
    expect(await play('live/a', { jwt: bound })).toBe('ok');
    expect(await play('vod/b', { jwt: bound })).toBe('STREAM_DENIED');
  });
});

describe('the THEOlive guide', () => {
  it('a distribution secured with its own RS512 public key plays a {nbf, exp} token sent as Bearer, and only that distribution', async () => {
    const put = await fetch(
      `http://127.0.0.1:${server.adminPort}/api/v1/streams/theo/dist2/security`,
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          play: 'secured',
          keys: [{ kid: 'theo-rs', alg: 'RS512', publicKey: read('theo-public.pem') }],
        }),
      },
    );
    expect(put.status).toBe(200);
    const now = Math.floor(Date.now() / 1000);
    const token = jwt.sign({ nbf: now - 10, exp: now + 600 }, read('theo.pem'), {
      algorithm: 'RS512',
      keyid: 'theo-rs',
    });
    expect(await play('theo/dist2', { bearer: token })).toBe('ok');
    expect(await play('live/a', { bearer: token })).toBe('STREAM_DENIED');
    expect(await play('theo/dist2', {})).toBe('TOKEN_MISSING');
  });
});
