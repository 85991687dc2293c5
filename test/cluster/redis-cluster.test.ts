// Two Stagedoor nodes sharing a real redis-server: one publisher per stream across the nodes, a
// revocation made on one node cuts sessions on the other, and what happens while Redis is away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { admin, publishOn, publishOnceAdmitted, publishWith } from '../helpers/cluster-publish.js';
import { eventually } from '../helpers/http.js';
import { sleep } from '../helpers/ffmpeg.js';
import { nowSec, sign, token } from '../helpers/tokens.js';
import { TestRedis } from '../helpers/redis-server.js';

const LEASE_TTL_SEC = 2;
let redis: TestRedis;
let a: TestServer;
let b: TestServer;

const node = (nodeId: string) =>
  startServer(
    testConfig(undefined, {
      cluster: {
        redis: { url: redis.url, keyPrefix: 'test:' },
        nodeId,
        leaseTtlSec: LEASE_TTL_SEC,
        commandTimeoutSec: 0.5,
      },
    }),
  );

beforeAll(async () => {
  redis = await TestRedis.start();
  a = await node('a');
  b = await node('b');
}, 30_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.stop();
});

describe('a cluster of two nodes on Redis', () => {
  it('shares one set of pass keys, created once in Redis, instead of one key ring per node', () => {
    const playlist = redis.cli('GET', 'test:pass-keys:pk');
    const segment = redis.cli('GET', 'test:pass-keys:ek');
    expect(JSON.parse(playlist)).toEqual([
      { kid: expect.stringMatching(/^pk-/), secret: expect.any(String) },
    ]);
    expect(JSON.parse(segment)).toEqual([
      { kid: expect.stringMatching(/^ek-/), secret: expect.any(String) },
    ]);
    for (const server of [a, b]) {
      expect(server.logs.find((l) => l.event === 'pass_keys')).toMatchObject({
        playlist: 'redis',
        segment: 'redis',
      });
      // The shared secret is never logged.
      expect(
        server.logs.some((l) => JSON.stringify(l).includes(JSON.parse(playlist)[0].secret)),
      ).toBe(false);
    }
  });

  it('lets one publisher hold a stream across the nodes, and frees it when that publisher ends', async () => {
    const first = await publishOn(a, 'one');
    expect(first.status.code).toBe('NetStream.Publish.Start');
    const second = await publishOn(b, 'one');
    expect(second.status.code).toBe('NetStream.Publish.BadName');
    const refused = await b.waitForLog(
      (l) => l.event === 'access_refused' && l.stream === 'live/one',
    );
    expect(refused.code).toBe('STREAM_BUSY');
    second.client.destroy();
    expect(redis.cli('GET', 'test:lease:live/one')).toMatch(/^a /);
    first.client.destroy();
    await eventually(
      () => (redis.cli('EXISTS', 'test:lease:live/one') === '0' ? true : undefined),
      5000,
    );
    const third = await publishOn(b, 'one');
    expect(third.status.code).toBe('NetStream.Publish.Start');
    third.client.destroy();
  });

  it('cuts on one node the sessions a revocation made on the other names, and lists it on both', async () => {
    const publisher = await publishOn(b, 'rev');
    expect(publisher.status.code).toBe('NetStream.Publish.Start');
    const added = await admin(a, '/api/v1/revocations', {
      method: 'POST',
      body: JSON.stringify({ type: 'sub', value: 'live/rev', reason: 'cluster test' }),
    });
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: string };
    const cut = await b.waitForLog(
      (l) => l.event === 'session_end' && l.stream === 'live/rev' && l.kind === 'publisher',
    );
    expect(cut.reason).toBe('revoked');
    await publisher.client.closed;
    const listed = (await (await admin(b, '/api/v1/revocations')).json()) as {
      revocations: Array<{ id: string }>;
    };
    expect(listed.revocations.map((r) => r.id)).toContain(id);
    // Refused on the other node too, from its own copy of the list.
    const again = await publishOn(b, 'rev');
    expect(again.status.level).toBe('error');
    again.client.destroy();
    expect((await admin(b, `/api/v1/revocations/${id}`, { method: 'DELETE' })).status).toBe(204);
    await eventually(async () => {
      const list = (await (await admin(a, '/api/v1/revocations')).json()) as {
        revocations: unknown[];
      };
      return list.revocations.length === 0 ? true : undefined;
    }, 5000);
  });

  it("shares stream security set on one node, keys included, and re-checks the other node's sessions", async () => {
    const put = (server: TestServer, body: unknown) =>
      admin(server, '/api/v1/streams/live/shared/security', {
        method: 'PUT',
        body: JSON.stringify(body),
      });
    expect((await put(a, { publish: 'open' })).status).toBe(200);
    // Node B admits a publisher without a token once it has the rule.
    const open = await publishOnceAdmitted(b, 'shared');
    // Secured again on node A: node B cuts its tokenless publisher.
    expect((await put(a, { publish: 'secured' })).status).toBe(200);
    const cut = await b.waitForLog(
      (l) => l.event === 'session_end' && l.stream === 'live/shared' && l.kind === 'publisher',
    );
    expect(cut.reason).toBe('security-changed');
    await open.closed;
    // A stream's own key set on node A verifies tokens on node B (key material stays server-side).
    const secret = 'shared-stream-key-secret-0123456789abcdef';
    expect(
      (
        await put(a, {
          keys: [{ kid: 'shared-k', alg: 'HS256', secret, actions: ['publish'] }],
        })
      ).status,
    ).toBe(200);
    const got = await eventually(async () => {
      const rule = (await (await admin(b, '/api/v1/streams/live/shared/security')).json()) as {
        keys: Array<{ kid: string }>;
      };
      return rule.keys.some((k) => k.kid === 'shared-k') ? rule : undefined;
    }, 10_000);
    expect(JSON.stringify(got)).not.toContain(secret);
    const client = await RawRtmpClient.open(b.rtmpPort);
    await client.handshake();
    client.connectApp('live');
    const streamToken = await sign(
      { sub: 'live/shared', scope: 'publish', exp: nowSec() + 300 },
      { kid: 'shared-k' },
      new TextEncoder().encode(secret),
    );
    client.publish(`shared?token=${streamToken}`);
    const status = await client.waitForStatus(
      (st) => st.code === 'NetStream.Publish.Start' || st.level === 'error',
      5000,
    );
    expect(status?.code).toBe('NetStream.Publish.Start');
    client.destroy();
    expect(
      (await admin(a, '/api/v1/streams/live/shared/security', { method: 'DELETE' })).status,
    ).toBe(200);
    await eventually(async () => {
      const rule = (await (await admin(b, '/api/v1/streams/live/shared/security')).json()) as {
        source: string;
      };
      return rule.source !== 'runtime' ? true : undefined;
    }, 10_000);
  });

  it('reads shared stream rules one by one: a bad entry is disabled closed, changes still reach every node, and a node still starts', async () => {
    redis.cli(
      'HSET',
      'test:stream-rules',
      'live/broken',
      JSON.stringify({ match: 'live/broken', publish: 'maybe' }),
    );
    // Written to Redis straight, as an operator could not: a server file as a key, an admin key.
    redis.cli(
      'HSET',
      'test:stream-rules',
      'live/sneaky',
      JSON.stringify({
        match: 'live/sneaky',
        publish: 'open',
        play: 'open',
        keys: [{ kid: 'sneaky', alg: 'HS256', secretFile: '/etc/hostname', actions: ['publish'] }],
      }),
    );
    redis.cli('HSET', 'test:stream-rules', 'live/garbled', '{"match": "live/gar');
    const put = (server: TestServer, stream: string, body: unknown) =>
      admin(server, `/api/v1/streams/live/${stream}/security`, {
        method: 'PUT',
        body: JSON.stringify(body),
      });
    expect((await put(a, 'healthy', { publish: 'open' })).status).toBe(200);
    const open = await publishOnceAdmitted(b, 'healthy');
    expect((await put(a, 'healthy', { publish: 'secured' })).status).toBe(200);
    const cut = await b.waitForLog(
      (l) => l.event === 'session_end' && l.stream === 'live/healthy' && l.kind === 'publisher',
    );
    expect(cut.reason).toBe('security-changed');
    await open.closed;
    for (const [stream, error] of [
      ['broken', /invalid stream settings: publish/],
      ['sneaky', /secretFile.*never server files/],
      ['garbled', /not a JSON object/],
    ] as const) {
      const shown = (await (await admin(b, `/api/v1/streams/live/${stream}/security`)).json()) as {
        error?: string;
        source: string;
      };
      expect(shown.source).toBe('runtime');
      expect(shown.error).toMatch(error);
      const refused = await publishWith(b, stream);
      expect(refused.status.level).toBe('error');
      expect(refused.status.description).toMatch(/^STREAM_RULE_INVALID/);
      refused.client.destroy();
    }
    expect(
      b.logs.some((l) => l.event === 'stream_rule_disabled' && l.match === 'live/broken'),
    ).toBe(true);
    // A node started now starts, with the same view.
    const late = await node('late');
    try {
      const shown = (await (await admin(late, '/api/v1/streams/live/broken/security')).json()) as {
        error?: string;
      };
      expect(shown.error).toMatch(/invalid stream settings/);
    } finally {
      await late.stop();
    }
    redis.cli('HDEL', 'test:stream-rules', 'live/broken', 'live/sneaky', 'live/garbled');
    expect(
      (await admin(a, '/api/v1/streams/live/healthy/security', { method: 'DELETE' })).status,
    ).toBe(200);
  });

  it('publishes on one node with an ingest key exchanged on the other', async () => {
    const exchanged = await fetch(`http://127.0.0.1:${a.httpPort}/ingest-keys/live/keyed`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('live/keyed', 'publish', 600)}` },
    });
    expect(exchanged.status).toBe(201);
    const { streamKey } = (await exchanged.json()) as { streamKey: string };
    expect(streamKey).toMatch(/^keyed\?key=sk_/);
    const client = await publishOnceAdmitted(b, streamKey);
    const start = await b.waitForLog(
      (l) => l.event === 'session_start' && l.stream === 'live/keyed',
    );
    expect(start.kind).toBe('publisher');
    client.destroy();
  });

  it('a node whose lease another node took cuts its publisher (taken-over)', async () => {
    const publisher = await publishOn(a, 'lost');
    expect(publisher.status.code).toBe('NetStream.Publish.Start');
    redis.cli('SET', 'test:lease:live/lost', 'b elsewhere', 'PX', '60000');
    const end = await a.waitForLog(
      (l) => l.event === 'session_end' && l.stream === 'live/lost' && l.kind === 'publisher',
      10_000,
    );
    expect(end.reason).toBe('taken-over');
    expect(a.logs.some((l) => l.event === 'lease_lost' && l.stream === 'live/lost')).toBe(true);
    redis.cli('DEL', 'test:lease:live/lost');
  });

  it("lists every node's sessions and streams on any node, and kicks a session on its owner", async () => {
    const publisher = await publishOn(a, 'everywhere');
    expect(publisher.status.code).toBe('NetStream.Publish.Start');
    type Listed = {
      sessions: Array<{ id: string; node: string; stream: string; kind: string }>;
      nodes: Array<{ node: string; self: boolean; reachable: boolean }>;
    };
    const listed = await eventually(async () => {
      const body = (await (await admin(b, '/api/v1/sessions')).json()) as Listed;
      return body.sessions.some((s) => s.stream === 'live/everywhere') ? body : undefined;
    }, 5000);
    const session = listed.sessions.find((s) => s.stream === 'live/everywhere')!;
    expect(session).toMatchObject({ node: 'a', kind: 'publisher' });
    expect(session.id).toMatch(/^s_[\w-]+@a$/);
    expect(listed.nodes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ node: 'b', self: true, reachable: true }),
        expect.objectContaining({ node: 'a', self: false, reachable: true }),
      ]),
    );
    const streams = (await (await admin(b, '/api/v1/streams')).json()) as {
      streams: Array<{ stream: string; node: string }>;
    };
    expect(streams.streams).toContainEqual(
      expect.objectContaining({ stream: 'live/everywhere', node: 'a' }),
    );
    const one = await admin(b, `/api/v1/sessions/${session.id}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ id: session.id, node: 'a' });

    // B's live feed carries A's events, each naming its node.
    const feed = await fetch(`http://127.0.0.1:${b.adminPort}/api/v1/events`, {
      headers: { authorization: `Bearer ${ADMIN_API_KEY}` },
    });
    const reader = feed.body!.getReader();
    let seen = '';
    const ended = (async () => {
      const decoder = new TextDecoder();
      while (!seen.includes('"reason":"kicked"')) {
        const chunk = await reader.read();
        if (chunk.done) break;
        seen += decoder.decode(chunk.value);
      }
    })();

    const kicked = await admin(b, `/api/v1/sessions/${session.id}`, { method: 'DELETE' });
    expect(kicked.status).toBe(200);
    // Answered once the owner has cut it: the connection is already closing on A.
    const cut = a.logs.find(
      (l) => l.event === 'session_end' && l.stream === 'live/everywhere' && l.reason === 'kicked',
    );
    expect(cut).toBeDefined();
    await publisher.client.closed;
    await ended;
    await reader.cancel();
    expect(seen).toMatch(/"node":"a"[^\n]*"reason":"kicked"|"reason":"kicked"[^\n]*"node":"a"/);
    expect((await admin(b, `/api/v1/sessions/${session.id}`, { method: 'DELETE' })).status).toBe(
      404,
    );
    // An id of a node that is not in the cluster: nobody holds it.
    expect((await admin(b, '/api/v1/sessions/s_nobody@zz')).status).toBe(404);
  });

  it('with Redis away: live publishers go on, new publishes and revocations are refused 503; back: all resumes', async () => {
    const live = await publishOn(a, 'away');
    expect(live.status.code).toBe('NetStream.Publish.Start');
    await redis.kill();
    await a.waitForLog((l) => l.event === 'redis_down');
    // Longer than a lease lives: the live publisher is not cut for Redis being away.
    await sleep(LEASE_TTL_SEC * 1000 + 1500);
    expect(a.stagedoor.registry.list().some((s) => s.kind === 'publisher')).toBe(true);
    const refused = await publishOn(b, 'newcomer');
    expect(refused.status.code).toBe('NetStream.Publish.Denied');
    refused.client.destroy();
    const code = await b.waitForLog(
      (l) => l.event === 'access_refused' && l.stream === 'live/newcomer',
    );
    expect(code.code).toBe('CLUSTER_UNAVAILABLE');
    const revoke = await admin(a, '/api/v1/revocations', {
      method: 'POST',
      body: JSON.stringify({ type: 'sub', value: 'someone' }),
    });
    expect(revoke.status).toBe(503);
    expect(((await revoke.json()) as { error: { code: string } }).error.code).toBe(
      'CLUSTER_UNAVAILABLE',
    );
    const secure = await admin(a, '/api/v1/streams/live/elsewhere/security', {
      method: 'PUT',
      body: JSON.stringify({ play: 'open' }),
    });
    expect(secure.status).toBe(503);

    await redis.restart();
    await a.waitForLog((l) => l.event === 'redis_up');
    // The live publisher's lease is taken back, so the stream stays its own.
    await eventually(
      () => (redis.cli('GET', 'test:lease:live/away').startsWith('a ') ? true : undefined),
      10_000,
    );
    const busy = await publishOn(b, 'away');
    expect(busy.status.code).toBe('NetStream.Publish.BadName');
    busy.client.destroy();
    const later = await eventually(async () => {
      const attempt = await publishOn(b, 'newcomer');
      if (attempt.status.code === 'NetStream.Publish.Start') return attempt;
      attempt.client.destroy();
      return undefined;
    }, 10_000);
    later.client.destroy();
    live.client.destroy();
  }, 60_000);
});

describe('single-use publish tokens across a cluster', () => {
  let c: TestServer;
  let d: TestServer;
  const singleUseNode = (nodeId: string) =>
    startServer(
      testConfig(undefined, {
        auth: { singleUsePublish: true },
        cluster: { redis: { url: redis.url, keyPrefix: 'once:' }, nodeId },
      }),
    );

  beforeAll(async () => {
    c = await singleUseNode('c');
    d = await singleUseNode('d');
  }, 30_000);

  afterAll(async () => {
    await c?.stop();
    await d?.stop();
  });

  it('admits a single-use token once in the whole cluster', async () => {
    const once = await sign(
      { sub: 'live/once', scope: 'publish', exp: nowSec() + 300, jti: 'once-1' },
      { kid: 'hs' },
    );
    const publish = async (server: TestServer) => {
      const { client, status } = await publishWith(server, `once?token=${once}`);
      client.destroy();
      return status.code;
    };
    expect(await publish(c)).toBe('NetStream.Publish.Start');
    expect(redis.cli('GET', 'once:used:once-1')).toMatch(/^c /);
    expect(await publish(d)).toBe('NetStream.Publish.Denied');
    const refused = await d.waitForLog(
      (l) => l.event === 'access_refused' && l.stream === 'live/once',
    );
    expect(refused.code).toBe('TOKEN_REUSED');
    expect(await publish(c)).toBe('NetStream.Publish.Denied'); // and on its own node again
  });
});

describe('a Redis password', () => {
  const password = 'pw1@pw2:pw3@pw4';
  let guarded: TestRedis;

  beforeAll(async () => {
    guarded = await TestRedis.start({ password });
  });
  afterAll(async () => {
    await guarded?.stop();
  });

  // As an operator writes it, unencoded: the URL's last `@` ends the password.
  const url = (pass: string) => `redis://:${pass}@127.0.0.1:${guarded.port}`;

  it('never appears in the log, whatever it holds, and a wrong one is told as Redis tells it', async () => {
    const server = await startServer(
      testConfig(undefined, {
        cluster: {
          redis: { url: url(password), keyPrefix: 'pw:' },
          nodeId: 'pw',
          commandTimeoutSec: 0.5,
        },
      }),
    );
    try {
      await guarded.kill();
      const down = await server.waitForLog((l) => l.event === 'redis_down');
      expect(down.redis).toBe(`redis://:[REDACTED]@127.0.0.1:${guarded.port}`);
      const revoke = await admin(server, '/api/v1/revocations', {
        method: 'POST',
        body: JSON.stringify({ type: 'sub', value: 'x' }),
      });
      expect(revoke.status).toBe(503);
      expect(await revoke.text()).not.toMatch(/pw\d/);
      await guarded.restart();
      await server.waitForLog((l) => l.event === 'redis_up', 10_000);
    } finally {
      await server.stop();
    }
    expect(server.rawLog.join('\n')).not.toMatch(/pw\d/);

    const refused = await startServer(
      testConfig(undefined, {
        cluster: { redis: { url: url('pw9@wrong'), keyPrefix: 'pw:' }, nodeId: 'wrong' },
      }),
    ).catch((error: unknown) => error as Error);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/WRONGPASS/);
    expect((refused as Error).message).not.toMatch(/pw9|wrong@/);
  }, 30_000);
});
