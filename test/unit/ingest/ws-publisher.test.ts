// A WebSocket publisher over a fake socket: FLV bytes reach the stream hub however they are split,
// control messages refresh the token (checked with the upgrade's Origin) or are answered as errors,
// and each end of the session is told with its close frame.
import { Admission } from '../../../src/access/admission.js';
import { LocalStreamLeases } from '../../../src/media/stream-leases.js';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { WsPublisher } from '../../../src/ingest/ws/ws-publisher.js';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';
import { StreamHub } from '../../../src/media/stream-hub.js';
import { StagedoorError } from '../../../src/errors.js';
import type { AccessRequest, Authenticator } from '../../../src/auth/authenticator.js';
import type { Grant } from '../../../src/auth/grant.js';
import { testGrant } from '../../helpers/grants.js';
import type { MediaUnit } from '../../../src/media/media-unit.js';
import { makeSampleFlv } from '../../helpers/flv.js';

const log = pino({ level: 'silent' });
const cam1 = { app: 'live', name: 'cam1' };
const flv = readFileSync(makeSampleFlv(mkdtempSync(join(tmpdir(), 'sd-wspub-')), 1));

/** Just what WsPublisher uses of a `ws` WebSocket. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readonly CLOSED = 3;
  readyState = 1;
  isPaused = false;
  readonly sent: Array<Record<string, unknown>> = [];
  closedWith: { code: number; reason: string } | undefined;
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
    this.readyState = this.CLOSED;
  }
  terminate(): void {
    this.readyState = this.CLOSED;
  }
  pause(): void {
    this.isPaused = true;
  }
  resume(): void {
    this.isPaused = false;
  }
}

const grant = (subject: string, expiresAt = Date.now() + 60_000): Grant =>
  testGrant({ subject, tokenId: subject, jti: subject, expiresAt });

class FakeAuthenticator implements Authenticator {
  readonly requests: AccessRequest[] = [];
  answer: Grant | StagedoorError = grant('live/cam1');
  async authenticate(request: AccessRequest): Promise<Grant> {
    this.requests.push(request);
    if (this.answer instanceof StagedoorError) throw this.answer;
    return this.answer;
  }
  async check(): Promise<void> {}
  async reserve(): Promise<undefined> {
    return undefined;
  }
  consume(): void {}
  sessionLimit(): undefined {
    return undefined;
  }
}

function setup(expiresAt?: number) {
  const socket = new FakeSocket();
  const authenticator = new FakeAuthenticator();
  const registry = new SessionRegistry(log);
  const hub = new StreamHub({ publisherTakeover: false, gopCacheBytes: 1 << 20 });
  const received: MediaUnit[] = [];
  // What admission does for the publisher: open its session, hold the stream until it ends.
  let publisher: WsPublisher | undefined;
  const session = registry.open({
    kind: 'publisher',
    protocol: 'ws',
    stream: cam1,
    grant: grant('live/cam1', expiresAt),
    address: '127.0.0.1',
    terminate: (reason) => {
      hub.release(stream, session);
      publisher!.end(reason);
    },
  });
  const stream = hub.claim(cam1, session);
  publisher = new WsPublisher(
    socket as unknown as WebSocket,
    { session, stream, origin: 'https://studio.example', formatHint: undefined },
    {
      admission: new Admission({
        authenticator,
        audit: { refusal: () => {} },
        hub,
        leases: new LocalStreamLeases({ takeover: false }),
        registry,
      }),
      log,
      limits: { maxBufferedBytes: 1 << 20, maxAheadMs: 3_600_000, maxTagBytes: 1 << 20 },
    },
  );
  hub.attach(cam1, { id: 'probe', deliver: (p) => received.push(p), end: () => {} });
  const message = (data: Buffer | string) =>
    socket.emit('message', Buffer.from(data), typeof data !== 'string');
  return { socket, authenticator, registry, hub, publisher, received, message };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('WsPublisher', () => {
  it('tells the client it is admitted and feeds FLV into the hub, however the bytes are split', () => {
    const { socket, received, message } = setup();
    expect(socket.sent[0]).toMatchObject({ type: 'admitted' });
    for (let i = 0; i < flv.length; i += 7) message(flv.subarray(i, i + 7));
    expect(received.length).toBeGreaterThan(20);
    expect(
      received.some((u) => u.kind === 'access-unit' && u.track === 'video') &&
        received.some((u) => u.kind === 'access-unit' && u.track === 'audio'),
    ).toBe(true);
  });

  it('refreshes its token with the upgrade’s Origin, and is closed by a refused refresh with the refusal’s code', async () => {
    const { socket, authenticator, publisher, message } = setup();
    authenticator.answer = grant('live/cam1', Date.now() + 120_000);
    message(JSON.stringify({ type: 'refresh', token: 'next' }));
    await flush();
    expect(authenticator.requests[0]).toMatchObject({
      token: 'next',
      action: 'publish',
      origin: 'https://studio.example',
    });
    expect(socket.sent.at(-1)).toMatchObject({ type: 'refreshed' });
    authenticator.answer = new StagedoorError('ORIGIN_DENIED');
    message(JSON.stringify({ type: 'refresh', token: 'elsewhere' }));
    await flush();
    expect(publisher.session.endReason).toBe('refresh-refused');
    expect(socket.closedWith).toEqual({ code: 4403, reason: 'ORIGIN_DENIED' });
  });

  it('refuses a refresh for another subject', async () => {
    const { socket, authenticator, message } = setup();
    authenticator.answer = grant('live/other');
    message(JSON.stringify({ type: 'refresh', token: 'other' }));
    await flush();
    expect(socket.closedWith).toEqual({ code: 4403, reason: 'STREAM_DENIED' });
  });

  it('answers bad control messages without ending the session', async () => {
    const { socket, publisher, message } = setup();
    message('not json');
    message(JSON.stringify({ type: 'dance' }));
    await flush();
    expect(socket.sent.slice(1).map((m) => m.code)).toEqual(['PROTOCOL_ERROR', 'PROTOCOL_ERROR']);
    expect(publisher.session.closed).toBe(false);
  });

  it('closes 4400 on bytes that are no known container, and 4401 TOKEN_EXPIRED at exp', async () => {
    const bad = setup();
    bad.message(Buffer.from('GARBAGE-GARBAGE'));
    expect(bad.socket.closedWith?.code).toBe(4400);
    const expiring = setup(Date.now() + 30);
    await new Promise((r) => setTimeout(r, 80));
    expect(expiring.socket.closedWith).toEqual({ code: 4401, reason: 'TOKEN_EXPIRED' });
    expect(expiring.hub.get(cam1)?.publisher ?? null).toBeNull();
  });
});
