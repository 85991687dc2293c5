// HLS viewers with a fake clock and a fake authenticator: a pass is re-checked on every request,
// an idle viewer comes back on its pass, and an end that forbids playing is never undone by it.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HlsViewers } from '../../../src/delivery/hls-viewers.js';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';
import { StagedoorError } from '../../../src/errors.js';
import type { AccessRequest, Authenticator } from '../../../src/auth/authenticator.js';
import type { Grant } from '../../../src/auth/grant.js';

const log = pino({ level: 'silent' });
const stream = { app: 'live', name: 'cam1' };
let now = 1_800_000_000_000;
const viewers: HlsViewers[] = [];
afterEach(() => {
  for (const v of viewers.splice(0)) v.close();
});

const grantFor = (token: string): Grant => ({
  subject: 'live/cam1',
  scopes: ['play'],
  scoped: false,
  tokenId: token,
  jti: token,
  kid: 'k',
  issuer: undefined,
  expiresAt: now + 60_000,
  keyActions: new Set(['play']),
  subjectIsStream: true,
  subjectRequired: false,
  keySource: 'test',
  signer: undefined,
  claims: {},
});

/** Admits any token; its `check` refuses what `refuse` names at that moment. */
class FakeAuthenticator implements Authenticator {
  refuse: StagedoorError | undefined;
  checks = 0;
  async authenticate(request: AccessRequest): Promise<Grant> {
    if (this.refuse) throw this.refuse;
    return grantFor(request.token!);
  }
  async check(): Promise<void> {
    this.checks++;
    if (this.refuse) throw this.refuse;
  }
  consume(): void {}
}

function setup() {
  const authenticator = new FakeAuthenticator();
  const registry = new SessionRegistry(log, () => now);
  const hls = new HlsViewers({ authenticator, registry }, { idleMs: 1000, now: () => now });
  viewers.push(hls);
  return {
    authenticator,
    registry,
    hls,
    admit: (init: { pass?: string; token?: string }) =>
      hls.admit({ stream, address: '10.0.0.1', pass: init.pass, token: init.token }),
  };
}

describe('HlsViewers', () => {
  it('re-checks the token behind a pass on every request, and keeps one session for one viewer', async () => {
    const { authenticator, admit } = setup();
    const first = await admit({ token: 't1' });
    const again = await admit({ pass: first.pass });
    expect(again.session).toBe(first.session);
    expect(authenticator.checks).toBe(1);
  });

  it('lets an idle viewer come back on its pass, in a new session', async () => {
    const { hls, admit } = setup();
    const first = await admit({ token: 't1' });
    now += 1500;
    hls.sweep();
    expect(first.session.endReason).toBe('idle');
    const back = await admit({ pass: first.pass });
    expect(back.session).not.toBe(first.session);
    expect(back.session.closed).toBe(false);
  });

  it('refuses a pass whose token is refused now, without opening a session (revoked while idle)', async () => {
    const { authenticator, registry, hls, admit } = setup();
    const first = await admit({ token: 't1' });
    now += 1500;
    hls.sweep();
    authenticator.refuse = new StagedoorError('TOKEN_REVOKED');
    await expect(admit({ pass: first.pass })).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    expect(registry.size).toBe(0);
  });

  it('never reopens a session that ended for a reason that forbids playing, even when the token would pass', async () => {
    const { admit } = setup();
    for (const [reason, code] of [
      ['kicked', 'SESSION_ENDED'],
      ['revoked', 'TOKEN_REVOKED'],
      ['key-retired', 'KEY_UNKNOWN'],
      ['security-changed', 'SESSION_ENDED'],
    ] as const) {
      const first = await admit({ token: `t-${reason}` });
      first.session.close(reason);
      await expect(admit({ pass: first.pass })).rejects.toMatchObject({ code });
    }
    // Presenting the token itself again starts afresh, as reconnecting does over RTMP.
    const kicked = await admit({ token: 't-kicked' });
    expect(kicked.session.closed).toBe(false);
  });

  it('refuses a pass for another stream or a forged one as SESSION_ENDED', async () => {
    const { hls, admit } = setup();
    const first = await admit({ token: 't1' });
    await expect(
      hls.admit({
        stream: { app: 'live', name: 'other' },
        address: '10.0.0.1',
        pass: first.pass,
        token: undefined,
      }),
    ).rejects.toMatchObject({ code: 'SESSION_ENDED' });
    await expect(admit({ pass: `${first.pass}x` })).rejects.toMatchObject({
      code: 'SESSION_ENDED',
    });
  });
});
