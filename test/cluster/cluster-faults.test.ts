// Faults of a cluster with live sessions on two nodes: node B in this process, node C a process of
// its own that is SIGKILLed. Redis (with an append-only file, as in the cluster example) SIGKILLed
// and started again loses no live session and the cluster view comes back; a killed node leaves
// no lease, node entry or session in the others' view after the TTL, and its streams' viewers on
// other nodes get a prompt 404 or 503, never a hang. Concurrent-session slots ride out Redis and
// lapse with their node.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish, sleep, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { HS_SECRET, nowSec, sign, token } from '../helpers/tokens.js';
import { TestRedis } from '../helpers/redis-server.js';
import { admin, publishOn, publishWith } from '../helpers/cluster-publish.js';

const SECRET = 'cluster-secret-for-the-faults-test-0123456789';
const TTL_SEC = 2;
let redis: TestRedis;
let b: TestServer;
let c: { child: ChildProcess; out: string[]; rtmpPort: number; httpPort: number };
let publisher: RunningProcess;
let play: string;

/** Every node's keys: the tests' own, and one whose subjects may publish once at a time. */
const PRINCIPAL_SECRET = randomBytes(32).toString('hex');
const auth: NonNullable<Parameters<typeof testConfig>[1]>['auth'] = {
  keys: [
    { kid: 'hs', alg: 'HS256', secret: HS_SECRET, actions: ['publish', 'play', 'admin'] },
    {
      kid: 'people',
      alg: 'HS256',
      secret: PRINCIPAL_SECRET,
      actions: ['publish', 'play'],
      subject: 'principal',
      maxSessionsPerSubject: { publish: 1 },
    },
  ],
};
/** An RTMP publish of `stream` by `sub` with a `people` token, on a node's RTMP port. */
const publishAs = async (rtmpPort: number, sub: string, stream: string) => {
  const personal = await sign(
    {
      sub,
      scope: `publish:live/${stream}`,
      exp: nowSec() + 600,
      jti: randomBytes(6).toString('hex'),
    },
    { kid: 'people' },
    new TextEncoder().encode(PRINCIPAL_SECRET),
  );
  return publishWith({ rtmpPort } as TestServer, `${stream}?token=${personal}`);
};

const clusterOf = (nodeId: string) => ({
  redis: { url: redis.url, keyPrefix: 'faults:' },
  nodeId,
  leaseTtlSec: TTL_SEC,
  commandTimeoutSec: 0.5,
  internal: { host: '127.0.0.1', port: 0, secret: SECRET },
});

/** Node C: `node dist/main.js` with the same keys, its JSON log lines kept. */
async function startNodeC() {
  const config = {
    ...testConfig(undefined, { auth }),
    cluster: clusterOf('c'),
    log: { level: 'debug', pretty: false },
  };
  const file = join(mkdtempSync(join(tmpdir(), 'sd-faults-')), 'c.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [resolve('dist/main.js'), '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    out.push(...lines);
  });
  const listening = await eventually(
    () => out.find((l) => l.includes('"event":"listening"')),
    20_000,
  );
  const ports = JSON.parse(listening) as { rtmp: string; http: string };
  const port = (address: string) => Number(address.split(':').pop());
  return { child, out, rtmpPort: port(ports.rtmp), httpPort: port(ports.http) };
}

type Listing = {
  sessions: Array<{ id: string; node: string; stream: string; kind: string }>;
  nodes: Array<{ node: string; reachable: boolean }>;
};
const sessionsOn = async (server: TestServer) =>
  (await (await admin(server, '/api/v1/sessions')).json()) as Listing;
const viewOnB = (signal?: AbortSignal) =>
  fetch(b.hlsUrl('live/onc', play, 'copy.m3u8'), { signal: signal ?? AbortSignal.timeout(8000) });

beforeAll(async () => {
  redis = await TestRedis.start({ aofDir: mkdtempSync(join(tmpdir(), 'sd-aof-')) });
  b = await startServer(testConfig(undefined, { auth, cluster: clusterOf('b') }));
  c = await startNodeC();
  publisher = publish(
    `rtmp://127.0.0.1:${c.rtmpPort}/live/onc?token=${await token('live/onc', 'publish', 600)}`,
    120,
    '320x180',
  );
  play = await token('live/onc', 'play', 600);
  await eventually(async () => ((await viewOnB()).status === 200 ? true : undefined), 20_000);
}, 60_000);

afterAll(async () => {
  publisher?.stop();
  if (c?.child.exitCode === null) c.child.kill('SIGKILL');
  await b?.stop();
  await redis?.stop();
});

describe('faults in a cluster with live sessions', () => {
  it('Redis killed and started again: no live session lost, the cluster view comes back', async () => {
    const onB = await publishOn(b, 'onb');
    expect(onB.status.code).toBe('NetStream.Publish.Start');
    // Dave, who may publish once at a time, publishes on B.
    const dave = await publishAs(b.rtmpPort, 'dave', 'dave1');
    expect(dave.status.code).toBe('NetStream.Publish.Start');
    const before = await eventually(async () => {
      const listing = await sessionsOn(b);
      const streams = new Set(listing.sessions.map((s) => `${s.node} ${s.stream} ${s.kind}`));
      return streams.has('c live/onc publisher') &&
        streams.has('b live/onb publisher') &&
        streams.has('b live/onc viewer')
        ? listing
        : undefined;
    }, 10_000);

    // A viewer on B that follows its passes, as players do.
    const master = await (await fetch(b.hlsUrl('live/onc', play))).text();
    const variant = master.split('\n').find((l) => l.startsWith('copy.m3u8?vs='))!;
    const followed = () => fetch(`http://127.0.0.1:${b.httpPort}/live/onc/${variant}`);
    expect((await followed()).status).toBe(200);

    await redis.kill();
    await sleep(3000);
    // It goes on watching C's stream through B: the owner last known is still believed.
    expect((await followed()).status).toBe(200);
    // While it is away: the sessions go on, each node lists its own and says the rest is unknown.
    const away = await sessionsOn(b);
    expect(away.sessions.map((s) => s.id)).toEqual(
      expect.arrayContaining(before.sessions.filter((s) => s.node === 'b').map((s) => s.id)),
    );
    expect(away.nodes.some((n) => !n.reachable)).toBe(true);
    // A limit that cannot be counted is not waived: a new session of a limited subject waits.
    const meanwhile = await publishAs(b.rtmpPort, 'dave', 'dave2');
    expect(meanwhile.status.level).toBe('error');
    meanwhile.client.destroy();
    expect(
      (await b.waitForLog((l) => l.event === 'access_refused' && l.stream === 'live/dave2')).code,
    ).toBe('CLUSTER_UNAVAILABLE');
    await redis.restart();

    const after = await eventually(async () => {
      const listing = await sessionsOn(b);
      return listing.nodes.length === 2 && listing.nodes.every((n) => n.reachable)
        ? listing
        : undefined;
    }, 15_000);
    // The same sessions, none ended: the publishers' and the viewer's.
    for (const session of before.sessions)
      expect(after.sessions.map((s) => s.id)).toContain(session.id);
    expect(b.logs.some((l) => l.event === 'session_end' && l.stream === 'live/onb')).toBe(false);
    expect(c.out.some((l) => l.includes('"event":"session_end"'))).toBe(false);
    // The leases are held again, by their nodes.
    await eventually(
      () => (redis.cli('GET', 'faults:lease:live/onc').startsWith('c ') ? true : undefined),
      10_000,
    );
    expect(redis.cli('GET', 'faults:lease:live/onb')).toMatch(/^b /);
    expect((await viewOnB()).status).toBe(200);
    // Dave's slot is held again: his second publish, on C, is refused SESSION_LIMIT.
    expect(b.logs.some((l) => l.event === 'session_end' && l.stream === 'live/dave1')).toBe(false);
    expect(redis.cli('ZCARD', 'faults:slots:{publish:sub:dave}:order')).toBe('1');
    const second = await publishAs(c.rtmpPort, 'dave', 'dave3');
    expect(second.status.level).toBe('error');
    second.client.destroy();
    await eventually(
      () => c.out.find((l) => l.includes('"live/dave3"') && l.includes('"SESSION_LIMIT"')),
      5000,
    );
    dave.client.destroy();
    onB.client.destroy();
  }, 60_000);

  it('a node SIGKILLed: its lease, slots, node entry and sessions leave the view after the TTL; its viewers elsewhere get a prompt answer', async () => {
    // Erin, who may publish once at a time, publishes on C.
    const erin = await publishAs(c.rtmpPort, 'erin', 'erin1');
    expect(erin.status.code).toBe('NetStream.Publish.Start');
    c.child.kill('SIGKILL');
    // Before the lease lapses: a prompt answer (503, the owner is silent; at first a playlist
    // B still holds for a quarter second), never a hang: each request is bounded by viewOnB.
    const early = await eventually(async () => {
      const res = await viewOnB();
      return res.status === 200 ? undefined : res.status;
    }, 3000);
    expect([404, 503]).toContain(early);
    await eventually(
      async () => {
        const listing = await sessionsOn(b);
        return listing.sessions.every((s) => s.node !== 'c') &&
          listing.nodes.every((n) => n.node !== 'c')
          ? true
          : undefined;
      },
      (TTL_SEC + 5) * 1000,
    );
    await eventually(
      () =>
        redis.cli('EXISTS', 'faults:lease:live/onc') === '0' &&
        redis.cli('EXISTS', 'faults:node:c') === '0'
          ? true
          : undefined,
      (TTL_SEC + 5) * 1000,
    );
    await eventually(async () => ((await viewOnB()).status === 404 ? true : undefined), 5000);
    // Erin's slot lapsed with C: she publishes on B.
    const again = await eventually(async () => {
      const attempt = await publishAs(b.rtmpPort, 'erin', 'erin2');
      if (attempt.status.code === 'NetStream.Publish.Start') return attempt;
      attempt.client.destroy();
      return undefined;
    }, 5000);
    again.client.destroy();
    erin.client.destroy();
    // B's own viewer session of the gone stream is not a phantom of C's.
    expect((await sessionsOn(b)).sessions.every((s) => s.node === 'b')).toBe(true);
  }, 30_000);
});
