// Each test here pins one known weakness of node-media-server 4.4.3 (DESIGN.md, "Media path")
// or one kind of hostile input, and fails if Stagedoor's wrapping stops covering it.
import { connect } from 'node:net';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish, probe, sleep } from '../helpers/ffmpeg.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { token } from '../helpers/tokens.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer(testConfig(undefined, { rtmp: { admissionTimeoutSec: 1 } }));
});
afterAll(async () => {
  await server.stop();
});

async function admittedClient(action: 'publish' | 'play', stream: string): Promise<RawRtmpClient> {
  const client = await RawRtmpClient.open(server.rtmpPort);
  await client.handshake();
  client.connectApp('live');
  const key = `${stream}?token=${await token(`live/${stream}`, action)}`;
  if (action === 'publish') client.publish(key);
  else client.play(key);
  const started = await client.waitForStatus(
    (s) => s.code === (action === 'publish' ? 'NetStream.Publish.Start' : 'NetStream.Play.Start'),
  );
  expect(started).toBeDefined();
  return client;
}

/** The server still does its job: a fresh client is admitted and the HTTP port answers. */
async function expectServerServes(): Promise<void> {
  const client = await admittedClient('publish', `alive${Math.random().toString(36).slice(2, 7)}`);
  client.destroy();
  const health = await fetch(`http://127.0.0.1:${server.httpPort}/healthz`);
  expect(health.status).toBe(200);
}

function sendRaw(bytes: Buffer, { wait = 300 } = {}): Promise<{ closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: server.rtmpPort });
    let closedByServer = false;
    socket.on('error', () => {});
    socket.on('close', () => {
      closedByServer = true;
    });
    socket.on('connect', () => socket.write(bytes));
    socket.resume();
    setTimeout(() => {
      socket.destroy();
      resolve({ closedByServer });
    }, wait);
  });
}

/** A deterministic byte generator, so a failure can be replayed. */
function seeded(seed: number): (n: number) => Buffer {
  let x = seed >>> 0;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

describe('hostile bytes on the RTMP port', () => {
  it('survives garbage, truncated handshakes and broken chunk streams, then serves the next client', async () => {
    const random = seeded(42);
    const handshake = Buffer.concat([Buffer.from([3]), Buffer.alloc(1536), Buffer.alloc(1536)]);
    const inputs = [
      random(65_536),
      Buffer.concat([Buffer.from([3]), random(4000)]),
      Buffer.from([3, 1, 2, 3]),
      // valid handshake, then: random chunks; a huge message length; chunk size 0; 3-byte basic headers
      Buffer.concat([handshake, random(8000)]),
      Buffer.concat([handshake, Buffer.from([0x03, 0, 0, 0, 0xff, 0xff, 0xff, 0x14, 0, 0, 0, 0])]),
      Buffer.concat([
        handshake,
        Buffer.from([0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]),
        random(500),
      ]),
      Buffer.concat([
        handshake,
        ...Array.from({ length: 200 }, (_, i) =>
          Buffer.from([0x01, i & 0xff, (i >> 8) & 0xff, 0, 0, 0, 0, 0, 8, 0x14, 0, 0, 0, 0]),
        ),
      ]),
    ];
    for (let i = 0; i < 40; i++)
      inputs.push(Buffer.concat([handshake, random(1 + ((i * 97) % 3000))]));
    await Promise.all(inputs.map((bytes) => sendRaw(bytes)));
    await expectServerServes();
  });

  it('drops a client that never finishes the handshake after the admission timeout', async () => {
    const result = await sendRaw(Buffer.from([3, 0, 0, 0]), { wait: 1800 });
    expect(result.closedByServer).toBe(true);
  });

  it('refuses broken commands as protocol errors: connect without app, publish without a name', async () => {
    const client = await RawRtmpClient.open(server.rtmpPort);
    await client.handshake();
    client.command({ cmd: 'connect', transId: 1, cmdObj: null });
    expect((await client.closed).at).toBeGreaterThan(0);
    const second = await RawRtmpClient.open(server.rtmpPort);
    await second.handshake();
    second.connectApp('live');
    second.command({ cmd: 'publish', transId: 3, cmdObj: null, streamName: 42 }, 1);
    expect((await second.closed).at).toBeGreaterThan(0);
    expect(server.logs.filter((l) => l.event === 'protocol_error').length).toBeGreaterThanOrEqual(
      2,
    );
    await expectServerServes();
  });

  it('refuses stream names outside [A-Za-z0-9_-]+ with STREAM_NAME_INVALID', async () => {
    for (const name of ['a b', '../etc', 'x.flv', '']) {
      const client = await RawRtmpClient.open(server.rtmpPort);
      await client.handshake();
      client.connectApp('live');
      client.publish(`${name}?token=${await token(name, 'publish')}`);
      const status = await client.waitForStatus(() => true);
      expect(status).toMatchObject({ level: 'error', code: 'NetStream.Publish.BadName' });
      expect(status!.description).toMatch(/^STREAM_NAME_INVALID/);
      await client.closed;
    }
    const ffmpeg = publish(`rtmp://127.0.0.1:${server.rtmpPort}/live/a%20b?token=x`, 5);
    expect((await ffmpeg.exited).code).not.toBe(0);
  });
});

describe('node-media-server 4.4.3 facts, each covered', () => {
  it('prePublish comes after Publish.Start upstream: here a refused client never sees Publish.Start', async () => {
    const client = await RawRtmpClient.open(server.rtmpPort);
    await client.handshake();
    client.connectApp('live');
    client.publish('nostart?token=bad.token.here');
    await client.closed;
    expect(client.statuses.map((s) => s.code)).toEqual(['NetStream.Publish.Denied']);
  });

  it('close() only half-closes upstream: a refused socket is destroyed even if the client keeps sending', async () => {
    const client = await RawRtmpClient.open(server.rtmpPort, { allowHalfOpen: true });
    await client.handshake();
    client.connectApp('live');
    client.publish('halfopen?token=bad.token.here');
    const writer = setInterval(() => {
      if (!client.socket.destroyed) client.socket.write(Buffer.alloc(1024, 7));
    }, 10);
    const closed = await Promise.race([client.closed, sleep(2000).then(() => undefined)]);
    clearInterval(writer);
    expect(closed).toBeDefined();
    await sleep(100);
    expect(server.stagedoor.registry.list().filter((s) => s.stream.name === 'halfopen')).toEqual(
      [],
    );
  });

  it('RTMP players cannot inject media: a player that sends packets reaches no other viewer', async () => {
    const victim = await admittedClient('play', 'inject');
    const attacker = await admittedClient('play', 'inject');
    for (let i = 0; i < 30; i++) attacker.sendMedia(i * 33);
    await sleep(500);
    expect(victim.mediaReceived).toBe(0);
    expect(server.logs.some((l) => l.event === 'media_dropped')).toBe(true);
    victim.destroy();
    attacker.destroy();
  });

  it('a refused publisher never becomes the stream publisher; the rightful one publishes at once', async () => {
    const refused = await RawRtmpClient.open(server.rtmpPort);
    await refused.handshake();
    refused.connectApp('live');
    refused.publish('claim?token=bad.token.here');
    await refused.closed;
    const rightful = await admittedClient('publish', 'claim');
    expect(server.stagedoor.hub.get({ app: 'live', name: 'claim' })?.publisher?.kind).toBe(
      'publisher',
    );
    rightful.destroy();
  });

  it('no 30 s reconnect grace: when a publisher leaves, its viewers end and a new publisher is admitted at once', async () => {
    const first = await admittedClient('publish', 'grace');
    const viewer = await admittedClient('play', 'grace');
    first.destroy();
    const viewerClosed = await Promise.race([viewer.closed, sleep(2000).then(() => undefined)]);
    expect(viewerClosed).toBeDefined();
    const end = await server.waitForLog(
      (l) => l.event === 'session_end' && l.stream === 'live/grace' && l.kind === 'viewer',
    );
    expect(end.reason).toBe('publisher-gone');
    const second = await admittedClient('publish', 'grace');
    second.destroy();
  });

  it('one publisher per stream: a second one is refused with STREAM_BUSY', async () => {
    const first = await admittedClient('publish', 'busy');
    const second = await RawRtmpClient.open(server.rtmpPort);
    await second.handshake();
    second.connectApp('live');
    second.publish(`busy?token=${await token('live/busy', 'publish')}`);
    const status = await second.waitForStatus(() => true);
    expect(status).toMatchObject({ code: 'NetStream.Publish.BadName' });
    expect(status!.description).toMatch(/^STREAM_BUSY/);
    expect(first.socket.destroyed).toBe(false);
    first.destroy();
  });

  it('its logger prints free text to stdout at debug: here it goes to the JSON log, redacted', async () => {
    const spy = vi.spyOn(console, 'log');
    const client = await admittedClient('publish', 'chatty');
    client.command({
      cmd: 'FCPublish',
      transId: 4,
      cmdObj: null,
      streamName: 'chatty?token=eyJhbGciOi.eyJzdWIi.sig',
    });
    client.command({ cmd: 'someUnknownCommand', transId: 5, cmdObj: null });
    await sleep(200);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    expect(server.logs.some((l) => l.msg === 'node-media-server message')).toBe(true);
    client.destroy();
  });
});

describe('malformed HTTP and WebSocket requests', () => {
  function rawHttp(text: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: server.httpPort });
      let answer = '';
      socket.on('data', (d) => (answer += d.toString()));
      socket.on('error', () => {});
      socket.on('close', () => resolve(answer));
      socket.on('connect', () => socket.write(text));
      setTimeout(() => socket.destroy(), 1000);
    });
  }

  it('answers a WebSocket upgrade to /live/a%20b.flv (which crashes upstream) with 404 and stays up', async () => {
    const answer = await rawHttp(
      'GET /live/a%20b.flv HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1.1 404/);
    expect(answer).toContain('NOT_FOUND');
    await expectServerServes();
  });

  it('answers malformed paths and requests with a JSON error, never a crash', async () => {
    for (const path of [
      '/live/a%20b.flv',
      '/live/%E0%A4%A',
      '/..%2f..%2fetc/passwd',
      `/${'a'.repeat(5000)}`,
    ]) {
      const status = await new Promise<number>((resolve) => {
        const req = request({ host: '127.0.0.1', port: server.httpPort, path }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(-1));
        req.end();
      });
      expect([400, 404, 414]).toContain(status);
    }
    const garbage = await rawHttp('\x00\x01\x02 NOT HTTP\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1.1 400/);
    await expectServerServes();
  });
});

describe('a real stream still flows after all of that', () => {
  it('publishes and plays', async () => {
    const publisher = publish(server.url('live/after', await token('live/after', 'publish')), 20);
    try {
      await server.waitForLog(
        (l) => l.event === 'session_start' && l.stream === 'live/after',
        10_000,
      );
      await sleep(1200);
      const result = await probe(server.url('live/after', await token('after', 'play')));
      expect(result.streams.length).toBe(2);
      const session = server.stagedoor.registry.list().find((s) => s.stream.name === 'after');
      expect(session?.bytesIn).toBeGreaterThan(10_000);
    } finally {
      publisher.stop();
    }
  });
});
