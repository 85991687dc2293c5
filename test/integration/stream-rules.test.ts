// Issue #10 (2) and #15 (5, 11, 12, 13): stream security set at run time through the admin API keeps
// what it does not change, governs its stream alone, takes key material only inline, answers bad
// keys as the operator's mistake (400/409), and a saved rule that no longer loads never stops the
// server: it refuses its streams until fixed.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { nowSec, sign } from '../helpers/tokens.js';

const secretA = 'config-secret-for-vod-star-0123456789';
const secretB = 'runtime-secret-for-vod-ep9-0123456789';
const secretT = 'theo-distribution-secret-0123456789ab';
let server: TestServer;
let stateDir: string;

const config = () => ({
  ...testConfig(undefined, {
    streams: [
      {
        match: 'vod/*',
        play: 'secured',
        publish: 'secured',
        keys: [{ kid: 'vod-a', alg: 'HS256', secret: secretA }],
      },
    ],
  }),
  stateDir,
});

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'sd-rules-state-'));
  server = await startServer(config());
  for (const stream of ['vod/ep8', 'vod/ep9', 'theo/dist1']) {
    mkdirSync(join(server.mediaDir, stream), { recursive: true });
    writeFileSync(join(server.mediaDir, stream, 'index.m3u8'), '#EXTM3U\n');
  }
});
afterAll(async () => {
  await server.stop();
});

const admin = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${server.adminPort}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_API_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & {
      error?: { code: string; message: string };
    },
  };
};
const play = async (stream: string, token: string | undefined, target: TestServer = server) => {
  const res = await fetch(target.hlsUrl(stream), {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return res.status === 200 ? 'ok' : ((await res.json()) as { error: { code: string } }).error.code;
};
const bytes = (secret: string) => new TextEncoder().encode(secret);

describe('stream security at run time', () => {
  it('keeps omitted settings: open then secured again keeps the key, as THEOlive documents; keys: [] removes it', async () => {
    // THEOlive: a distribution secured with its own key; tokens carry only nbf and exp, sent as Bearer.
    expect(
      (
        await admin('PUT', '/api/v1/streams/theo/dist1/security', {
          play: 'secured',
          keys: [{ kid: 'theo-1', alg: 'HS256', secret: secretT }],
        })
      ).status,
    ).toBe(200);
    const theo = await sign(
      { nbf: nowSec() - 5, exp: nowSec() + 300 },
      { kid: 'theo-1' },
      bytes(secretT),
    );
    expect(await play('theo/dist1', theo)).toBe('ok');
    expect(
      (await admin('PUT', '/api/v1/streams/theo/dist1/security', { play: 'open' })).body,
    ).toMatchObject({ play: 'open', keys: [{ kid: 'theo-1', alg: 'HS256' }] });
    expect(await play('theo/dist1', undefined)).toBe('ok');
    expect(
      (await admin('PUT', '/api/v1/streams/theo/dist1/security', { play: 'secured' })).body,
    ).toMatchObject({ play: 'secured', keys: [{ kid: 'theo-1', alg: 'HS256' }] });
    expect(await play('theo/dist1', undefined)).toBe('TOKEN_MISSING');
    expect(await play('theo/dist1', theo)).toBe('ok');
    expect(
      (await admin('PUT', '/api/v1/streams/theo/dist1/security', { keys: [] })).body,
    ).toMatchObject({ play: 'secured', keys: [] });
    expect(await play('theo/dist1', theo)).toBe('KEY_UNKNOWN');
  });

  it("a stream's own rule governs it alone: the pattern rule's key no longer opens it, and the API shows what governs", async () => {
    const tokenA = await sign(
      { scope: 'play', exp: nowSec() + 300 },
      { kid: 'vod-a' },
      bytes(secretA),
    );
    expect(await play('vod/ep9', tokenA)).toBe('ok');
    expect(
      (
        await admin('PUT', '/api/v1/streams/vod/ep9/security', {
          keys: [{ kid: 'vod-b', alg: 'HS256', secret: secretB }],
        })
      ).body,
    ).toMatchObject({ match: 'vod/ep9', source: 'runtime', keys: [{ kid: 'vod-b' }] });
    expect((await admin('GET', '/api/v1/streams/vod/ep9/security')).body).toMatchObject({
      match: 'vod/ep9',
      keys: [{ kid: 'vod-b' }],
    });
    expect(await play('vod/ep9', tokenA)).toBe('STREAM_DENIED');
    expect(
      await play(
        'vod/ep9',
        await sign({ scope: 'play', exp: nowSec() + 300 }, { kid: 'vod-b' }, bytes(secretB)),
      ),
    ).toBe('ok');
    // The pattern rule still governs its other streams.
    expect(await play('vod/ep8', tokenA)).toBe('ok');
    expect((await admin('GET', '/api/v1/streams/vod/ep8/security')).body).toMatchObject({
      match: 'vod/*',
      source: 'config',
      keys: [{ kid: 'vod-a' }],
    });
  });

  it('takes key material inline only: file paths are refused with 400 and nothing is created or revealed', async () => {
    const target = join(mkdtempSync(join(tmpdir(), 'sd-rules-victim-')), 'created-by-api');
    const created = await admin('PUT', '/api/v1/streams/live/files/security', {
      keys: [{ kid: 'f1', alg: 'HS256', secretFile: target, createIfMissing: true }],
    });
    expect(created.status).toBe(400);
    expect(existsSync(target)).toBe(false);
    const existing = await admin('PUT', '/api/v1/streams/live/files/security', {
      keys: [{ kid: 'f2', alg: 'RS256', publicKeyFile: '/etc/passwd' }],
    });
    const missing = await admin('PUT', '/api/v1/streams/live/files/security', {
      keys: [{ kid: 'f2', alg: 'RS256', publicKeyFile: '/nonexistent/key.pem' }],
    });
    expect([existing.status, missing.status]).toEqual([400, 400]);
    expect(existing.body.error!.message.replace('/etc/passwd', 'P')).toBe(
      missing.body.error!.message.replace('/nonexistent/key.pem', 'P'),
    );
    expect((await admin('GET', '/api/v1/streams/live/files/security')).body).toMatchObject({
      source: 'default',
    });
  });

  it('answers bad keys as input errors: bad PEM, short secret → 400 KEY_INVALID; a kid in use → 409 KEY_CONFLICT', async () => {
    const cases: Array<[unknown, number, string]> = [
      [
        {
          kid: 'x1',
          alg: 'RS256',
          publicKey: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n',
        },
        400,
        'KEY_INVALID',
      ],
      [{ kid: 'x2', alg: 'HS256', secret: 'short' }, 400, 'KEY_INVALID'],
      [{ kid: 'hs', alg: 'HS256', secret: 'y'.repeat(40) }, 409, 'KEY_CONFLICT'],
      [{ kid: 'vod-a', alg: 'HS256', secret: 'y'.repeat(40) }, 409, 'KEY_CONFLICT'],
      [{ kid: 'x3', alg: 'HS256', secret: 'y'.repeat(40), actions: ['admin'] }, 400, 'KEY_INVALID'],
    ];
    for (const [key, status, code] of cases) {
      const answer = await admin('PUT', '/api/v1/streams/live/badkeys/security', { keys: [key] });
      expect({ key, status: answer.status, code: answer.body.error?.code }).toEqual({
        key,
        status,
        code,
      });
    }
    expect((await admin('GET', '/api/v1/streams/live/badkeys/security')).body).toMatchObject({
      source: 'default',
    });
  });
});

describe('saved rules that no longer load', () => {
  it('start the server anyway, refuse their streams 503 STREAM_RULE_INVALID, show the error, and can be fixed', async () => {
    const saved = mkdtempSync(join(tmpdir(), 'sd-rules-broken-'));
    const keyFile = join(saved, 'gone.pem');
    writeFileSync(
      join(saved, 'stream-security.json'),
      JSON.stringify([
        {
          match: 'live/gone',
          publish: 'secured',
          play: 'open',
          keys: [{ kid: 'gone', alg: 'RS256', publicKeyFile: keyFile }],
        },
        {
          match: 'live/clash',
          publish: 'secured',
          play: 'secured',
          keys: [{ kid: 'hs', alg: 'HS256', secret: 'z'.repeat(40) }],
        },
        { match: 'live/fine', publish: 'secured', play: 'open', keys: [] },
      ]),
    );
    const restarted = await startServer({ ...config(), stateDir: saved });
    try {
      for (const stream of ['live/gone', 'live/clash', 'live/fine']) {
        mkdirSync(join(restarted.mediaDir, stream), { recursive: true });
        writeFileSync(join(restarted.mediaDir, stream, 'index.m3u8'), '#EXTM3U\n');
      }
      const hsToken = await sign({ scope: 'play', exp: nowSec() + 300 }, { kid: 'hs' });
      expect(await play('live/gone', undefined, restarted)).toBe('STREAM_RULE_INVALID');
      expect(await play('live/clash', hsToken, restarted)).toBe('STREAM_RULE_INVALID');
      expect(await play('live/fine', undefined, restarted)).toBe('ok');
      const disabled = restarted.logs
        .filter((l) => l.event === 'stream_rule_disabled')
        .map((l) => l.match);
      expect(disabled.sort()).toEqual(['live/clash', 'live/gone']);
      const shown = await fetch(
        `http://127.0.0.1:${restarted.adminPort}/api/v1/streams/live/gone/security`,
        { headers: { authorization: `Bearer ${ADMIN_API_KEY}` } },
      );
      // A saved rule naming a server file is read as the admin API reads input: never opened.
      expect(((await shown.json()) as { error?: string }).error).toMatch(
        /publicKeyFile: .*never server files/,
      );
      // An operator fixes it: new settings replace the broken keys.
      const fixed = await fetch(
        `http://127.0.0.1:${restarted.adminPort}/api/v1/streams/live/gone/security`,
        {
          method: 'PUT',
          headers: { authorization: `Bearer ${ADMIN_API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ play: 'open', keys: [] }),
        },
      );
      expect(fixed.status).toBe(200);
      expect(await play('live/gone', undefined, restarted)).toBe('ok');
    } finally {
      await restarted.stop();
    }
  });
});
