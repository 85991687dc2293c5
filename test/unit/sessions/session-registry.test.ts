import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';
import type { Grant } from '../../../src/auth/grant.js';
import type { EndReason } from '../../../src/core/end-reasons.js';

const log = pino({ level: 'silent' });

function grant(expiresAt: number | undefined, extra: Partial<Grant> = {}): Grant {
  return {
    subject: 'cam1',
    scopes: ['publish'],
    tokenId: 'j',
    jti: 'j',
    kid: 'k',
    issuer: undefined,
    expiresAt,
    keyActions: new Set(['publish']),
    subjectIsStream: true,
    subjectRequired: false,
    scoped: false,
    signer: undefined,
    keySource: 'auth.keys[0]',
    claims: {},
    ...extra,
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_800_000_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('session registry', () => {
  function open(registry: SessionRegistry, expiresAt: number | undefined) {
    const terminate = vi.fn<(reason: EndReason) => void>();
    const session = registry.open({
      kind: 'publisher',
      protocol: 'rtmp',
      stream: { app: 'live', name: 'cam1' },
      grant: grant(expiresAt),
      address: '127.0.0.1',
      terminate,
    });
    return { session, terminate };
  }

  it('closes a session at its expiry, once, and forgets it', () => {
    const registry = new SessionRegistry(log);
    const { session, terminate } = open(registry, Date.now() + 1000);
    expect(registry.get(session.id)).toBe(session);
    vi.advanceTimersByTime(1000);
    expect(terminate).toHaveBeenCalledExactlyOnceWith('expired');
    expect(session.endReason).toBe('expired');
    expect(registry.size).toBe(0);
    session.close('kicked');
    expect(terminate).toHaveBeenCalledOnce();
  });

  it('ends at once a session opened after a shutdown closed them all: every start has its end', () => {
    const registry = new SessionRegistry(log);
    const events: string[] = [];
    registry.onChange((event, s, reason) => events.push(`${event} ${s.id} ${reason ?? ''}`.trim()));
    const before = open(registry, Date.now() + 60_000);
    expect(registry.closeAll('shutdown')).toBe(1);
    // An admission that was in flight opens its session now.
    const late = open(registry, Date.now() + 60_000);
    expect(late.terminate).toHaveBeenCalledExactlyOnceWith('shutdown');
    expect(registry.size).toBe(0);
    expect(events).toEqual([
      `start ${before.session.id}`,
      `end ${before.session.id} shutdown`,
      `start ${late.session.id}`,
      `end ${late.session.id} shutdown`,
    ]);
    // Other mass closes (a revocation sweep) do not stop later sessions.
    const other = new SessionRegistry(log);
    other.closeAll('revoked');
    expect(open(other, Date.now() + 60_000).session.closed).toBe(false);
  });

  it('cancels the expiry timer when a session ends otherwise', () => {
    const registry = new SessionRegistry(log);
    const { session, terminate } = open(registry, Date.now() + 1000);
    session.close('client-closed');
    vi.advanceTimersByTime(5000);
    expect(terminate).toHaveBeenCalledExactlyOnceWith('client-closed');
  });

  it('closes at once a session opened with an expired grant', () => {
    const registry = new SessionRegistry(log);
    const { session, terminate } = open(registry, Date.now() - 1);
    expect(session.closed).toBe(true);
    expect(terminate).toHaveBeenCalledWith('expired');
    expect(registry.size).toBe(0);
  });

  it('re-arms on renewal (later or sooner), tells listeners, and closes by predicate or all at once', () => {
    const registry = new SessionRegistry(log);
    const a = open(registry, Date.now() + 1000);
    const b = open(registry, undefined);
    const events: string[] = [];
    registry.onChange((event, s, reason) =>
      events.push(`${event}:${s.id === a.session.id ? 'a' : 'b'}:${reason}`),
    );
    registry.renew(a.session, grant(Date.now() + 10_000));
    vi.advanceTimersByTime(5000);
    expect(a.session.closed).toBe(false);
    expect(events.splice(0)).toEqual(['refresh:a:undefined']);
    registry.renew(a.session, grant(Date.now() + 1000, { jti: 'j2' }));
    vi.advanceTimersByTime(999);
    expect(a.session.closed).toBe(false);
    expect(events.splice(0)).toEqual(['refresh:a:undefined']);
    expect(registry.closeWhere((s) => s === b.session, 'kicked')).toBe(1);
    expect(registry.closeAll('shutdown')).toBe(1);
    expect(events).toEqual(['end:b:kicked', 'end:a:shutdown']);
    expect(a.session.snapshot()).toMatchObject({
      kind: 'publisher',
      protocol: 'rtmp',
      stream: 'live/cam1',
      subject: 'cam1',
      jti: 'j2',
    });
  });
});
