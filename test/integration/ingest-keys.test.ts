// Issue #10 (4): RTMP clients cut URLs at about 1,024 characters, so a long access token cannot ride in
// an OBS or FFmpeg stream key. It is exchanged for a short ingest key bound to its grant: real ffmpeg
// publishes with it; revoking the token ends it; it survives a restart; it is stored only hashed.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { openPublisher } from '../helpers/ws-client.js';
import { eventually } from '../helpers/http.js';
import { publish } from '../helpers/ffmpeg.js';
import { nowSec, rsaPair } from '../helpers/tokens.js';

const rsa = rsaPair();
let server: TestServer;
let config: ReturnType<typeof testConfig>;

/** An RS256 access token with the claims an identity provider adds: about 1,500 characters. */
async function longToken(stream: string, jti: string): Promise<string> {
  const token = await new SignJWT({
    scope: 'publish openid profile email',
    jti,
    name: 'Camera Operator',
    email: 'camera.operator@studio.example',
    groups: ['producers', 'camera-operators', 'studio-b', 'night-shift'],
    realm_access: {
      roles: ['offline_access', 'uma_authorization', 'default-roles-studio', 'publisher'],
    },
    resource_access: {
      account: { roles: ['manage-account', 'manage-account-links', 'view-profile'] },
    },
    session_state: '7f1c2e8a-3b4d-4c5e-9f60-718293a4b5c6',
    sid: '7f1c2e8a-3b4d-4c5e-9f60-718293a4b5c6',
    azp: 'obs-studio-publisher',
    acr: '1',
    allowed_origins: [
      'https://studio.example',
      'https://backup-studio.example',
      'https://obs.studio.example',
    ],
    preferred_username: 'camera.operator',
    given_name: 'Camera',
    family_name: 'Operator',
    locale: 'en-GB',
    zoneinfo: 'Europe/London',
    nonce: 'n-0S6_WzA2Mj-a9c7e2f1b3d4c5e6f7a8b9c0d1e2f3',
  })
    .setProtectedHeader({ alg: 'RS256', kid: 'rs' })
    .setSubject(stream)
    .setIssuedAt()
    .setExpirationTime(nowSec() + 600)
    .sign(rsa.privateKey);
  expect(token.length).toBeGreaterThanOrEqual(1100);
  return token;
}

async function exchange(
  stream: string,
  token: string,
  target: TestServer = server,
): Promise<{ status: number; body: Record<string, string> & { error?: { code: string } } }> {
  const res = await fetch(`http://127.0.0.1:${target.httpPort}/ingest-keys/${stream}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, string> & { error?: { code: string } },
  };
}

async function rtmpPublish(
  stream: string,
  streamKey: string,
  target: TestServer = server,
): Promise<{ client: RawRtmpClient; status: string }> {
  const client = await RawRtmpClient.open(target.rtmpPort);
  await client.handshake();
  client.connectApp(stream.split('/')[0]!);
  client.publish(streamKey);
  const status = await client.waitForStatus(() => true);
  return {
    client,
    status: status?.level === 'error' ? status.description.split(':')[0]! : status!.code,
  };
}

beforeAll(async () => {
  config = testConfig(rsa);
  server = await startServer(config);
});
afterAll(async () => {
  await server.stop();
});

describe('ingest keys', () => {
  it('ffmpeg publishes over RTMP with the ingest key of a 1,500-character token it could not send itself', async () => {
    const token = await longToken('live/long', 'long-1');
    expect(token.length).toBeGreaterThanOrEqual(1500);
    // Sent as it is, FFmpeg cuts the URL and the server says why.
    const direct = publish(`rtmp://127.0.0.1:${server.rtmpPort}/live/long?token=${token}`, 5);
    const refusal = await server.waitForLog(
      (l) => l.event === 'access_refused' && l.stream === 'live/long',
      15_000,
    );
    expect(refusal.code).toBe('TOKEN_MALFORMED');
    expect(String(refusal.reason)).toMatch(/probably cut.*ingest key/);
    direct.stop();

    const { status, body } = await exchange('live/long', token);
    expect(status).toBe(201);
    expect(body.key).toMatch(/^sk_[A-Za-z0-9_-]{32}$/);
    expect(body.streamKey).toBe(`long?key=${body.key}`);
    expect(body.server).toMatch(/^rtmp:\/\/[^/]+\/live$/);
    const ffmpeg = publish(`rtmp://127.0.0.1:${server.rtmpPort}/live/${body.streamKey}`, 30);
    const start = await server.waitForLog(
      (l) => l.event === 'session_start' && l.stream === 'live/long',
      15_000,
    );
    expect(start).toMatchObject({
      kind: 'publisher',
      protocol: 'rtmp',
      subject: 'live/long',
      jti: 'long-1',
      kid: 'rs',
    });

    // Revoking the token ends the session and disables the key.
    await fetch(`http://127.0.0.1:${server.adminPort}/api/v1/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'jti', value: 'long-1' }),
    });
    await ffmpeg.exited;
    expect(
      server.logs.some(
        (l) => l.event === 'session_end' && l.stream === 'live/long' && l.reason === 'revoked',
      ),
    ).toBe(true);
    const after = await rtmpPublish('live/long', body.streamKey);
    expect(after.status).toBe('TOKEN_REVOKED');
    after.client.destroy();
    // No log line holds the key or the token.
    expect(server.rawLog.some((l) => l.includes(body.key!) || l.includes(token.slice(-40)))).toBe(
      false,
    );
  }, 60_000);

  it('is bound to its stream, refuses unknown keys, works over WebSocket, survives a restart and is stored hashed', async () => {
    const token = await longToken('live/kept', 'kept-1');
    const { body } = await exchange('live/kept', token);
    const elsewhere = await rtmpPublish('live/other', `other?key=${body.key}`);
    expect(elsewhere.status).toBe('STREAM_DENIED');
    const unknown = await rtmpPublish('live/kept', `kept?key=sk_${'A'.repeat(32)}`);
    expect(unknown.status).toBe('INGEST_KEY_UNKNOWN');
    const ws = await openPublisher(
      `ws://127.0.0.1:${server.httpPort}/ws/live/kept?key=${body.key}`,
    );
    expect(ws.ws).toBeDefined();
    ws.ws!.close();
    await ws.closed;
    await eventually(() => (server.stagedoor.hub.list().length === 0 ? true : undefined), 5000, 50);

    const saved = readFileSync(join(config.stateDir!, 'ingest-keys.jsonl'), 'utf8');
    expect(saved).not.toContain(body.key);
    expect(saved).not.toContain(token.split('.')[1]!.slice(0, 40));
    const restarted = await startServer(config);
    try {
      const again = await rtmpPublish('live/kept', body.streamKey!, restarted);
      expect(again.status).toBe('NetStream.Publish.Start');
      again.client.destroy();
    } finally {
      await restarted.stop();
    }
  });

  it('refuses an exchange the token could not publish with, and a token without exp', async () => {
    const play = await new SignJWT({ scope: 'play' })
      .setProtectedHeader({ alg: 'RS256', kid: 'rs' })
      .setSubject('live/x')
      .setExpirationTime(nowSec() + 60)
      .sign(rsa.privateKey);
    expect(await exchange('live/x', play)).toMatchObject({
      status: 403,
      body: { error: { code: 'SCOPE_DENIED' } },
    });
    expect(await exchange('live/y', await longToken('live/x', 'x-1'))).toMatchObject({
      status: 403,
      body: { error: { code: 'STREAM_DENIED' } },
    });
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/ingest-keys/live/x`, {
      method: 'POST',
    });
    expect(res.status).toBe(401);
  });

  it('gives one token the same key however often it is exchanged, refuses past the cap instead of evicting, and appends one line per key', async () => {
    const bounded = testConfig(rsa, {
      auth: { ingestKeys: { maxKeys: 5, perSubjectPerMinute: 100, perAddressPerMinute: 100 } },
    });
    const node = await startServer(bounded);
    const journal = join(bounded.stateDir!, 'ingest-keys.jsonl');
    try {
      const token = await longToken('live/flood', 'flood-0');
      const first = await exchange('live/flood', token, node);
      expect(first.status).toBe(201);
      // Another exchange of the same token for the same stream answers the same key, writing nothing.
      for (let i = 0; i < 9; i++)
        expect((await exchange('live/flood', token, node)).body.key).toBe(first.body.key);
      expect(readFileSync(journal, 'utf8').trim().split('\n')).toHaveLength(1);
      expect(node.stagedoor.ingestKeys.size).toBe(1);

      const inode = statSync(journal).ino;
      const keys = [first.body];
      for (let i = 1; i < 5; i++) {
        const other = await exchange(
          'live/flood',
          await longToken('live/flood', `flood-${i}`),
          node,
        );
        expect(other.status).toBe(201);
        keys.push(other.body);
      }
      // Appended in place, one line per key (never the whole file rewritten per exchange).
      expect(statSync(journal).ino).toBe(inode);
      expect(readFileSync(journal, 'utf8').trim().split('\n')).toHaveLength(5);

      const full = await fetch(`http://127.0.0.1:${node.httpPort}/ingest-keys/live/flood`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await longToken('live/flood', 'flood-5')}` },
      });
      expect(full.status).toBe(503);
      expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await full.json()) as { error: { code: string } }).error.code).toBe(
        'INGEST_KEYS_FULL',
      );
      // Nobody's key was evicted for it: the first one still publishes.
      const kept = await rtmpPublish('live/flood', keys[0]!.streamKey!, node);
      expect(kept.status).toBe('NetStream.Publish.Start');
      kept.client.destroy();
      // The first token re-encoded (a spare bit of its signature's last character flipped) is the
      // same token: it replaces its key (it cannot open the one sealed under the other string)
      // rather than holding a sixth one, so the cap does not refuse it.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const twin = token.slice(0, -1) + alphabet[alphabet.indexOf(token.at(-1)!) ^ 1];
      const again = await exchange('live/flood', twin, node);
      expect([201, 401]).toContain(again.status); // 401 where base64url is read strictly
      expect(node.stagedoor.ingestKeys.size).toBe(5);
      if (again.status === 201) {
        expect(again.body.key).not.toBe(first.body.key);
        const gone = await rtmpPublish('live/flood', first.body.streamKey!, node);
        gone.client.destroy();
        expect(gone.status).not.toBe('NetStream.Publish.Start');
      }
    } finally {
      await node.stop();
    }
  });

  it('limits exchanges per subject and per address (429 RATE_LIMITED with Retry-After)', async () => {
    const limited = testConfig(rsa, {
      auth: { ingestKeys: { perSubjectPerMinute: 3, perAddressPerMinute: 5 } },
    });
    const node = await startServer(limited);
    try {
      const results = [];
      for (let i = 0; i < 4; i++)
        results.push(await exchange('live/busy', await longToken('live/busy', `busy-${i}`), node));
      expect(results.map((r) => r.status)).toEqual([201, 201, 201, 429]);
      expect(results[3]!.body.error?.code).toBe('RATE_LIMITED');
      // Another subject from the same address: one more is allowed, then the address's limit.
      const other = await exchange('live/calm', await longToken('live/calm', 'calm-0'), node);
      expect(other.status).toBe(201);
      const res = await fetch(`http://127.0.0.1:${node.httpPort}/ingest-keys/live/calm`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await longToken('live/calm', 'calm-1')}` },
      });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      const refused = await node.waitForLog(
        (l) => l.event === 'access_refused' && l.code === 'RATE_LIMITED',
      );
      expect(refused.stream).toBe('live/busy');
    } finally {
      await node.stop();
    }
  });
});
