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
    this.consumed.push(g.jti!);
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
  const admission = new Admission({
    authenticator,
    audit: { refusal: (r) => void refusals.push({ code: r.error.code, protocol: r.protocol }) },
    hub,
    leases,
    registry,
  });
  return { admission, authenticator, registry, hub, refusals };
}

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
