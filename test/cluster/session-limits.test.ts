// Concurrent sessions per subject, counted across two nodes sharing a real redis-server: a
// subject limited to two sessions gets its third refused SESSION_LIMIT on either node, frees a slot
// by ending a session, and with `replace-oldest` cuts its oldest instead. An HLS viewer holds one
// slot, whichever node serves its requests; real ffmpeg publishes, viewers fetch as players do.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { HS_SECRET, nowSec, sign, token } from '../helpers/tokens.js';
import { TestRedis } from '../helpers/redis-server.js';
import { admin, publishWith } from '../helpers/cluster-publish.js';

const SECRET = 'cluster-secret-for-the-limits-test-0123456789';
/** A key whose tokens name a person in `sub` (streams come from scopes), two sessions each. */
const PRINCIPAL_SECRET = randomBytes(32).toString('hex');
let redis: TestRedis;
let a: TestServer;
let b: TestServer;
let publisher: RunningProcess;

const node = (nodeId: string) =>
  startServer(
    testConfig(undefined, {
      hls: { playlistSize: 8, segmentSec: 2 },
      auth: {
        keys: [
          { kid: 'hs', alg: 'HS256', secret: HS_SECRET, actions: ['publish', 'play', 'admin'] },
          {
            kid: 'people',
            alg: 'HS256',
            secret: PRINCIPAL_SECRET,
            actions: ['publish', 'play'],
            subject: 'principal',
            maxSessionsPerSubject: { publish: 2, play: 2 },
          },
        ],
      },
      cluster: {
        redis: { url: redis.url, keyPrefix: 'limits:' },
        nodeId,
        leaseTtlSec: 2,
        commandTimeoutSec: 0.5,
        internal: { host: '127.0.0.1', port: 0, secret: SECRET },
      },
    }),
  );

/** A token of the `people` key for `sub`, with the scopes given. */
const personal = (sub: string, scope: string) =>
  sign(
    { sub, scope, exp: nowSec() + 600, jti: randomBytes(6).toString('hex') },
    { kid: 'people' },
    new TextEncoder().encode(PRINCIPAL_SECRET),
  );

/** What a refused HTTP request says. */
const refusal = async (res: Response) => ({
  status: res.status,
  code: ((await res.json()) as { error: { code: string } }).error.code,
});

beforeAll(async () => {
  redis = await TestRedis.start();
  a = await node('a');
  b = await node('b');
  publisher = publish(a.url('live/lim', await token('live/lim', 'publish', 600)), 120);
  const play = await token('live/lim', 'play', 600);
  await eventually(
    async () =>
      (await fetch(b.hlsUrl('live/lim', play, 'copy.m3u8'))).status === 200 ? true : undefined,
    20_000,
  );
}, 40_000);

afterAll(async () => {
  publisher?.stop();
  await a?.stop();
  await b?.stop();
  await redis?.stop();
});

describe('a subject limited to two sessions on a cluster of two nodes', () => {
  it('gets its third publisher refused SESSION_LIMIT on either node, and admitted once one ends', async () => {
    const alice = (stream: string) => personal('alice', `publish:live/${stream}`);
    const first = await publishWith(a, `al1?token=${await alice('al1')}`);
    const second = await publishWith(b, `al2?token=${await alice('al2')}`);
    expect(first.status.code).toBe('NetStream.Publish.Start');
    expect(second.status.code).toBe('NetStream.Publish.Start');
    for (const server of [a, b]) {
      const third = await publishWith(server, `al3?token=${await alice('al3')}`);
      expect(third.status.level).toBe('error');
      third.client.destroy();
      const refused = await server.waitForLog(
        (l) => l.event === 'access_refused' && l.stream === 'live/al3',
      );
      expect(refused.code).toBe('SESSION_LIMIT');
    }
    // The slots, in Redis: two holders of alice's publish slots.
    expect(redis.cli('ZCARD', 'limits:slots:{publish:sub:alice}:order')).toBe('2');
    second.client.destroy();
    const admitted = await eventually(async () => {
      const attempt = await publishWith(a, `al3?token=${await alice('al3')}`);
      if (attempt.status.code === 'NetStream.Publish.Start') return attempt.client;
      attempt.client.destroy();
      return undefined;
    }, 10_000);
    admitted.destroy();
    first.client.destroy();
    await eventually(
      () =>
        redis.cli('EXISTS', 'limits:slots:{publish:sub:alice}:order') === '0' ? true : undefined,
      5000,
    );
  }, 30_000);

  it('counts an HLS viewer once, whichever node serves it, and refuses its third viewer with 403 SESSION_LIMIT', async () => {
    const bob = () => personal('bob', 'play:live/lim');
    const [one, two, three] = await Promise.all([bob(), bob(), bob()]);
    const onA = await fetch(a.hlsUrl('live/lim', one));
    expect(onA.status).toBe(200);
    const variant = (await onA.text()).split('\n').find((l) => l.startsWith('copy.m3u8?'))!;
    expect((await fetch(b.hlsUrl('live/lim', two))).status).toBe(200);
    // Viewer one, following its pass to node B (a load balancer's choice): still one slot.
    expect((await fetch(`http://127.0.0.1:${b.httpPort}/live/lim/${variant}`)).status).toBe(200);
    for (const server of [a, b])
      expect(await refusal(await fetch(server.hlsUrl('live/lim', three)))).toEqual({
        status: 403,
        code: 'SESSION_LIMIT',
      });
    expect(redis.cli('ZCARD', 'limits:slots:{play:sub:bob}:order')).toBe('2');
    expect((await fetch(`http://127.0.0.1:${a.httpPort}/live/lim/${variant}`)).status).toBe(200);
    // Redis loses the slots (a restart without persistence): the nodes' heartbeats put them back.
    for (const part of ['order', 'beats']) redis.cli('DEL', `limits:slots:{play:sub:bob}:${part}`);
    await eventually(
      () => (redis.cli('ZCARD', 'limits:slots:{play:sub:bob}:order') === '2' ? true : undefined),
      5000,
    );
    expect(await refusal(await fetch(a.hlsUrl('live/lim', three)))).toEqual({
      status: 403,
      code: 'SESSION_LIMIT',
    });
  }, 30_000);

  it('with replace-oldest set on the stream, admits the new viewer and cuts the oldest on every node', async () => {
    const put = await admin(a, '/api/v1/streams/live/lim/security', {
      method: 'PUT',
      body: JSON.stringify({ maxSessionsPerSubject: { play: 2, onLimit: 'replace-oldest' } }),
    });
    expect(put.status).toBe(200);
    expect(
      ((await put.json()) as { maxSessionsPerSubject: unknown }).maxSessionsPerSubject,
    ).toEqual({
      play: 2,
      onLimit: 'replace-oldest',
    });
    const carol = () => personal('carol', 'play:live/lim');
    const [one, two, three] = await Promise.all([carol(), carol(), carol()]);
    const first = await fetch(a.hlsUrl('live/lim', one));
    const variant = (await first.text()).split('\n').find((l) => l.startsWith('copy.m3u8?'))!;
    // The oldest viewer is known to both nodes (B took it back from its pass).
    expect((await fetch(`http://127.0.0.1:${b.httpPort}/live/lim/${variant}`)).status).toBe(200);
    expect((await fetch(a.hlsUrl('live/lim', two))).status).toBe(200);
    // B has the rule once the change reaches it: the third viewer is admitted there.
    await eventually(async () => {
      const res = await fetch(b.hlsUrl('live/lim', three));
      return res.status === 200 ? true : undefined;
    }, 10_000);
    for (const server of [a, b])
      await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${server.httpPort}/live/lim/${variant}`);
        return res.status === 403 && (await refusal(res)).code === 'SESSION_LIMIT'
          ? true
          : undefined;
      }, 10_000);
    const ended = await a.waitForLog(
      (l) => l.event === 'session_end' && l.reason === 'limit-replaced' && l.protocol === 'hls',
    );
    expect(ended.stream).toBe('live/lim');
    expect(redis.cli('ZCARD', 'limits:slots:{play:sub:carol}:order')).toBe('2');
  }, 30_000);

  it('refuses a limited token without sub CLAIM_INVALID', async () => {
    const subjectless = await sign(
      { scope: 'play:live/lim', exp: nowSec() + 600 },
      { kid: 'people' },
      new TextEncoder().encode(PRINCIPAL_SECRET),
    );
    expect(await refusal(await fetch(b.hlsUrl('live/lim', subjectless)))).toEqual({
      status: 401,
      code: 'CLAIM_INVALID',
    });
  });
});
