// The one admission path with its ports swapped from the outside, as the wiring (or a cluster)
// would: a lease store that says another node holds the stream, a client that leaves while being
// checked, a session that ends. Every refusal is audited once; nothing stays held.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Admission, type Applicant } from '../../../src/access/admission.js';
import { StagedoorError } from '../../../src/errors.js';
import { StreamHub } from '../../../src/media/stream-hub.js';
import {
  LocalStreamLeases,
  type StreamLease,
  type StreamLeases,
} from '../../../src/media/stream-leases.js';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';
import type {
  AccessRequest,
  Authenticator,
  TokenReservation,
} from '../../../src/auth/authenticator.js';
import type { Grant } from '../../../src/auth/grant.js';
import { testGrant } from '../../helpers/grants.js';
import type { StreamPath } from '../../../src/core/stream-path.js';
import type { SessionLimit } from '../../../src/auth/session-limit.js';
import { LocalSessionSlots } from '../../../src/sessions/session-slots.js';
import type { EndReason } from '../../../src/core/end-reasons.js';

const log = pino({ level: 'silent' });

const grant = (jti: string): Grant => testGrant({ tokenId: jti, jti });

class FakeAuthenticator implements Authenticator {
  readonly consumed: string[] = [];
  async authenticate(request: AccessRequest): Promise<Grant> {
    if (request.token === 'bad') throw new StagedoorError('SIGNATURE_INVALID');
    return grant(request.token ?? 'anonymous');
  }
  async check(): Promise<void> {}
  /** Reservations held now (a cluster's single-use claims), by jti. */
  readonly reserved = new Set<string>();
  async reserve(g: Grant): Promise<TokenReservation> {
    this.reserved.add(g.jti!);
    return { release: () => this.reserved.delete(g.jti!) };
  }
  consume(g: Grant): void {
    if (g.jti === 'reused') throw new StagedoorError('TOKEN_REUSED');
    this.consumed.push(g.jti!);
  }
  /** The limit every session opens under (as a key, issuer or stream rule would set it). */
  limit: SessionLimit | undefined;
  sessionLimit(): SessionLimit | undefined {
    return this.limit;
  }
}

/** Another node holds `held`; every lease taken here is counted until released. */
class ClusterLeases implements StreamLeases {
  readonly out = new Set<string>();
  constructor(private readonly held: string) {}
  async acquire(stream: StreamPath): Promise<StreamLease> {
    const key = `${stream.app}/${stream.name}`;
    if (key === this.held) throw new StagedoorError('STREAM_BUSY', 'published on another node');
    this.out.add(key);
    return { stream: key, release: () => this.out.delete(key), onLost: () => {} };
  }
}

function setup(leases: StreamLeases) {
  const refusals: { code: string; protocol: string }[] = [];
  const authenticator = new FakeAuthenticator();
  const registry = new SessionRegistry(log);
  const hub = new StreamHub({ publisherTakeover: false, gopCacheBytes: 0 });
  const slots = new LocalSessionSlots();
  const admission = new Admission({
    authenticator,
    audit: { refusal: (r) => void refusals.push({ code: r.error.code, protocol: r.protocol }) },
    hub,
    leases,
    registry,
    slots,
  });
  return { admission, authenticator, registry, hub, refusals, slots };
}

const player = (name: string, token = name): Applicant => ({
  ...publisher(name, token),
  action: 'play',
});

/** A client that records how its session ended. */
const recording = () => {
  const ended: EndReason[] = [];
  return { ended, gone: () => false, terminate: (reason: EndReason) => void ended.push(reason) };
};

const publisher = (name: string, token = name): Applicant => ({
  protocol: 'rtmp',
  action: 'publish',
  app: 'live',
  name,
  address: '127.0.0.1',
  credentials: () => ({ token }),
});

const client = (gone = false) => ({ gone: () => gone, ended: [] as string[], terminate() {} });

describe('Admission', () => {
  it('refuses STREAM_BUSY when the lease port says another node publishes, audited once, token kept', async () => {
    const leases = new ClusterLeases('live/elsewhere');
    const { admission, authenticator, registry, refusals } = setup(leases);
    await expect(admission.admit(publisher('elsewhere'), client())).rejects.toMatchObject({
      code: 'STREAM_BUSY',
    });
    expect(refusals).toEqual([{ code: 'STREAM_BUSY', protocol: 'rtmp' }]);
    expect(authenticator.consumed).toEqual([]); // a single-use token is not burnt by a refusal
    expect(authenticator.reserved.size).toBe(0);
    expect(registry.size).toBe(0);
  });

  it('holds the lease and the stream for the session, and gives both back however it ends', async () => {
    const leases = new ClusterLeases('live/elsewhere');
    const { admission, authenticator, hub } = setup(leases);
    const ended: string[] = [];
    const opened = await admission.admit(publisher('cam1'), {
      gone: () => false,
      terminate: (reason) => ended.push(reason),
    });
    expect(opened!.stream).toBe(hub.get({ app: 'live', name: 'cam1' }));
    expect(opened!.stream!.publisher).toBe(opened!.session);
    expect(leases.out).toEqual(new Set(['live/cam1']));
    expect(authenticator.consumed).toEqual(['cam1']);
    expect(authenticator.reserved).toEqual(new Set(['cam1'])); // kept: the token is used
    opened!.session.close('kicked');
    expect(ended).toEqual(['kicked']);
    expect(leases.out.size).toBe(0);
    expect(hub.get({ app: 'live', name: 'cam1' })).toBeUndefined();
  });

  it('opens nothing and keeps nothing for a client that left while it was checked', async () => {
    const leases = new LocalStreamLeases({ takeover: false });
    const { admission, authenticator, registry } = setup(leases);
    expect(await admission.admit(publisher('cam1'), client(true))).toBeUndefined();
    expect(leases.size).toBe(0);
    expect(registry.size).toBe(0);
    expect(authenticator.consumed).toEqual([]);
    expect(authenticator.reserved.size).toBe(0); // the token's claim given back
  });

  it('gives a second publisher STREAM_BUSY from the local leases, and the stream once the first ends', async () => {
    const leases = new LocalStreamLeases({ takeover: false });
    const { admission, refusals } = setup(leases);
    const first = await admission.admit(publisher('cam1', 'a'), client());
    await expect(admission.admit(publisher('cam1', 'b'), client())).rejects.toMatchObject({
      code: 'STREAM_BUSY',
    });
    first!.session.close('client-closed');
    const second = await admission.admit(publisher('cam1', 'c'), client());
    expect(second!.stream!.publisher).toBe(second!.session);
    expect(refusals.map((r) => r.code)).toEqual(['STREAM_BUSY']);
  });

  it('audits a bad token once and leases nothing', async () => {
    const leases = new LocalStreamLeases({ takeover: false });
    const { admission, refusals } = setup(leases);
    await expect(admission.admit(publisher('cam1', 'bad'), client())).rejects.toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
    expect(refusals).toEqual([{ code: 'SIGNATURE_INVALID', protocol: 'rtmp' }]);
    expect(leases.size).toBe(0);
  });
});

describe('Admission with a concurrent-session limit', () => {
  const limit = (onLimit: SessionLimit['onLimit'], max = 2): SessionLimit => ({
    subject: 'alice',
    max,
    onLimit,
  });

  it('refuses the session past the limit SESSION_LIMIT, audited once, with nothing held, and admits it once a slot is free', async () => {
    const leases = new ClusterLeases('live/elsewhere');
    const { admission, authenticator, registry, refusals, slots } = setup(leases);
    authenticator.limit = limit('refuse');
    const first = await admission.admit(player('one', 'a'), client());
    await admission.admit(player('two', 'b'), client());
    await expect(admission.admit(player('three', 'c'), client())).rejects.toMatchObject({
      code: 'SESSION_LIMIT',
    });
    expect(refusals).toEqual([{ code: 'SESSION_LIMIT', protocol: 'rtmp' }]);
    expect(authenticator.reserved).toEqual(new Set(['a', 'b'])); // the refused one's given back
    expect(registry.size).toBe(2);
    expect(slots.size).toBe(2);
    // A refused publisher gives its lease back too.
    await admission.admit(publisher('cam8', 'd'), client());
    await admission.admit(publisher('cam9', 'e'), client());
    await expect(admission.admit(publisher('cam10', 'f'), client())).rejects.toMatchObject({
      code: 'SESSION_LIMIT',
    });
    expect(leases.out).toEqual(new Set(['live/cam8', 'live/cam9']));
    first!.session.close('client-closed');
    expect(slots.size).toBe(3);
    const third = await admission.admit(player('three', 'c'), client());
    expect(third!.session.closed).toBe(false);
    expect(slots.size).toBe(4);
  });

  it('counts play and publish apart', async () => {
    const { admission, authenticator } = setup(new LocalStreamLeases({ takeover: false }));
    authenticator.limit = limit('refuse', 1);
    await admission.admit(player('one', 'a'), client());
    const publishing = await admission.admit(publisher('cam1', 'b'), client());
    expect(publishing!.session.closed).toBe(false);
  });

  it('cuts the oldest session limit-replaced with replace-oldest, gives its lease back, and keeps the newer ones', async () => {
    const leases = new ClusterLeases('live/elsewhere');
    const { admission, authenticator, registry, slots } = setup(leases);
    authenticator.limit = limit('replace-oldest');
    const oldest = recording();
    const first = await admission.admit(publisher('one', 'a'), oldest);
    const second = await admission.admit(publisher('two', 'b'), client());
    const third = await admission.admit(publisher('three', 'c'), client());
    expect(oldest.ended).toEqual(['limit-replaced']);
    expect(first!.session.endReason).toBe('limit-replaced');
    expect(second!.session.closed).toBe(false);
    expect(third!.session.closed).toBe(false);
    expect(leases.out).toEqual(new Set(['live/two', 'live/three']));
    expect(registry.size).toBe(2);
    expect(slots.size).toBe(2);
  });

  it('cuts no session for a newcomer gone before it opened (replace-oldest)', async () => {
    const { admission, authenticator, slots } = setup(new LocalStreamLeases({ takeover: false }));
    authenticator.limit = limit('replace-oldest', 1);
    const held = await admission.admit(player('one', 'a'), client());
    expect(await admission.admit(player('two', 'b'), client(true))).toBeUndefined();
    expect(held!.session.closed).toBe(false);
    expect(slots.size).toBe(1);
  });

  it('gives the slot back when the client left while it was checked, and when its session cannot open', async () => {
    const { admission, authenticator, registry, slots } = setup(
      new LocalStreamLeases({ takeover: false }),
    );
    authenticator.limit = limit('refuse', 1);
    expect(await admission.admit(player('one', 'a'), client(true))).toBeUndefined();
    expect(slots.size).toBe(0);
    await expect(admission.admit(publisher('cam1', 'reused'), client())).rejects.toMatchObject({
      code: 'TOKEN_REUSED',
    });
    expect(slots.size).toBe(0);
    expect(registry.size).toBe(0);
    const admitted = await admission.admit(player('one', 'a'), client());
    expect(admitted!.session.closed).toBe(false);
  });

  it('holds an HLS viewer in its slot for the life of its session, refuses the one past the limit without auditing it, and frees the slot when it idles out', async () => {
    const { admission, authenticator, refusals, slots } = setup(
      new LocalStreamLeases({ takeover: false }),
    );
    authenticator.limit = limit('refuse', 1);
    const admitted = { stream: { app: 'live', name: 'cam1' }, grant: grant('v1') };
    const applicant = { protocol: 'hls', address: '127.0.0.1' } as const;
    const ended: EndReason[] = [];
    const viewer = await admission.openViewer(applicant, admitted, (r) => void ended.push(r));
    await expect(admission.openViewer(applicant, admitted, () => {})).rejects.toMatchObject({
      code: 'SESSION_LIMIT',
    });
    expect(refusals).toEqual([]); // the HLS route audits its request
    expect(slots.size).toBe(1);
    viewer.close('idle');
    expect(slots.size).toBe(0);
    const again = await admission.openViewer(applicant, admitted, () => {});
    expect(again.closed).toBe(false);
    // replace-oldest: the viewer holding the slot is cut, and its later requests are refused.
    authenticator.limit = limit('replace-oldest', 1);
    await admission.openViewer(applicant, admitted, () => {});
    expect(again.endReason).toBe('limit-replaced');
    expect(ended).toEqual(['idle']);
  });

  it('opens the session under the id its slot names', async () => {
    const names: string[] = [];
    const { authenticator, registry } = setup(new LocalStreamLeases({ takeover: false }));
    authenticator.limit = limit('refuse');
    const admission = new Admission({
      authenticator,
      audit: { refusal: () => {} },
      hub: new StreamHub({ publisherTakeover: false, gopCacheBytes: 0 }),
      leases: new LocalStreamLeases({ takeover: false }),
      registry,
      slots: {
        acquire: (request) => {
          names.push(request.holder);
          return new LocalSessionSlots().acquire(request);
        },
      },
    });
    const opened = await admission.admit(player('one', 'a'), client());
    expect(names).toEqual([opened!.session.id]);
  });
});
