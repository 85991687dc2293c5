// HLS viewers with a fake clock and a fake authenticator: a pass is re-checked on every request,
// an idle viewer comes back on its pass, an end that forbids playing is never undone by it, and
// passes outlive the process: another instance with the same keys takes a playlist pass back (its
// sealed token checked again) and serves a segment on an unexpired segment pass alone.
import { Admission } from '../../../src/access/admission.js';
import { LocalStreamLeases } from '../../../src/media/stream-leases.js';
import { StreamHub } from '../../../src/media/stream-hub.js';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HlsViewers } from '../../../src/delivery/hls-viewers.js';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';
import { StagedoorError } from '../../../src/errors.js';
import type { AccessRequest, Authenticator } from '../../../src/auth/authenticator.js';
import type { Grant } from '../../../src/auth/grant.js';
import { testGrant } from '../../helpers/grants.js';
import { PassKeyring } from '../../../src/delivery/pass/pass-keys.js';
import { PlaylistPasses } from '../../../src/delivery/pass/playlist-pass.js';
import { SegmentPasses } from '../../../src/delivery/pass/segment-pass.js';

const log = pino({ level: 'silent' });
const stream = { app: 'live', name: 'cam1' };
let now = 1_800_000_000_000;
const viewers: HlsViewers[] = [];
afterEach(() => {
  for (const v of viewers.splice(0)) v.close();
});

const grantFor = (token: string): Grant =>
  testGrant({
    scopes: ['play'],
    keyActions: new Set(['play']),
    tokenId: token,
    jti: token,
    expiresAt: now + 60_000,
  });

/** Admits any token; its `check` refuses what `refuse` names at that moment. */
class FakeAuthenticator implements Authenticator {
  refuse: StagedoorError | undefined;
  checks = 0;
  readonly tokens: Array<string | undefined> = [];
  async authenticate(request: AccessRequest): Promise<Grant> {
    this.tokens.push(request.token);
    if (this.refuse) throw this.refuse;
    return grantFor(request.token!);
  }
  async check(): Promise<void> {
    this.checks++;
    if (this.refuse) throw this.refuse;
  }
  async reserve(): Promise<undefined> {
    return undefined;
  }
  consume(): void {}
  sessionLimit(): undefined {
    return undefined;
  }
}

const keys = {
  playlistPasses: new PlaylistPasses(new PassKeyring([{ kid: 'pk1', secret: 'p'.repeat(32) }])),
  segmentPasses: new SegmentPasses(new PassKeyring([{ kid: 'ek1', secret: 'e'.repeat(32) }])),
};

/** One HLS viewers instance: a process of its own, with the shared pass keys. */
function setup() {
  const authenticator = new FakeAuthenticator();
  const registry = new SessionRegistry(log, () => now);
  const admission = new Admission({
    authenticator,
    audit: { refusal: () => {} },
    hub: new StreamHub({ publisherTakeover: false, gopCacheBytes: 1 << 20 }),
    leases: new LocalStreamLeases({ takeover: false }),
    registry,
  });
  const hls = new HlsViewers(
    { admission, ...keys },
    { idleMs: 1000, segmentPassMs: 8000, now: () => now },
  );
  viewers.push(hls);
  return {
    authenticator,
    registry,
    hls,
    admit: (init: { pass?: string; token?: string; kind?: 'playlist' | 'segment' | 'key' }) =>
      hls.admit({
        stream,
        kind: init.kind ?? 'playlist',
        address: '10.0.0.1',
        pass: init.pass,
        token: init.token,
      }),
  };
}

describe('HlsViewers', () => {
  it('re-checks the token behind a pass on every request, and keeps one session for one viewer', async () => {
    const { authenticator, admit } = setup();
    const first = await admit({ token: 't1' });
    const again = await admit({ pass: first.passes.playlist });
    expect(again.session).toBe(first.session);
    expect(authenticator.checks).toBe(1);
  });

  it('lets an idle viewer come back on its pass, in a new session', async () => {
    const { hls, admit } = setup();
    const first = await admit({ token: 't1' });
    now += 1500;
    hls.sweep();
    expect(first.session!.endReason).toBe('idle');
    const back = await admit({ pass: first.passes.playlist });
    expect(back.session).not.toBe(first.session);
    expect(back.session!.closed).toBe(false);
  });

  it('refuses a pass whose token is refused now, without opening a session (revoked while idle)', async () => {
    const { authenticator, registry, hls, admit } = setup();
    const first = await admit({ token: 't1' });
    now += 1500;
    hls.sweep();
    authenticator.refuse = new StagedoorError('TOKEN_REVOKED');
    await expect(admit({ pass: first.passes.playlist })).rejects.toMatchObject({
      code: 'TOKEN_REVOKED',
    });
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
      first.session!.close(reason);
      await expect(admit({ pass: first.passes.playlist })).rejects.toMatchObject({ code });
    }
    // Presenting the token itself again starts afresh, as reconnecting does over RTMP.
    const kicked = await admit({ token: 't-kicked' });
    expect(kicked.session!.closed).toBe(false);
  });

  it('refuses a pass for another stream or a forged one as SESSION_ENDED', async () => {
    const { hls, admit } = setup();
    const first = await admit({ token: 't1' });
    await expect(
      hls.admit({
        stream: { app: 'live', name: 'other' },
        kind: 'playlist',
        address: '10.0.0.1',
        pass: first.passes.playlist,
        token: undefined,
      }),
    ).rejects.toMatchObject({ code: 'SESSION_ENDED' });
    await expect(admit({ pass: `${first.passes.playlist}x` })).rejects.toMatchObject({
      code: 'SESSION_ENDED',
    });
  });

  it('takes a viewer back after a restart: the token sealed in its playlist pass is checked again', async () => {
    const before = setup();
    const first = await before.admit({ token: 't1' });
    const after = setup(); // a new process with the same keys, knowing no viewer
    const back = await after.admit({ pass: first.passes.playlist });
    expect(after.authenticator.tokens).toEqual(['t1']);
    expect(back.session!.closed).toBe(false);
    expect(back.passes.playlist).toBe(first.passes.playlist); // the player's URLs stay good
    expect((await after.admit({ pass: first.passes.playlist })).session).toBe(back.session);
    expect(after.authenticator.tokens).toEqual(['t1']); // known now: no second look at the token
    const refusing = setup();
    refusing.authenticator.refuse = new StagedoorError('TOKEN_REVOKED');
    await expect(refusing.admit({ pass: first.passes.playlist })).rejects.toMatchObject({
      code: 'TOKEN_REVOKED',
    });
    expect(refusing.registry.size).toBe(0);
  });

  it('serves a segment on an unexpired segment pass alone where the viewer is unknown, as an edge does', async () => {
    const before = setup();
    const first = await before.admit({ token: 't1' });
    const segmentPass = first.passes.segment;
    const after = setup();
    const served = await after.admit({ pass: segmentPass, kind: 'segment' });
    expect(served.session).toBeUndefined();
    expect(after.registry.size).toBe(0);
    // Not a playlist or key: those need the viewer, or its token.
    for (const kind of ['playlist', 'key'] as const)
      await expect(after.admit({ pass: segmentPass, kind })).rejects.toMatchObject({
        code: 'SESSION_ENDED',
      });
    now += 8001;
    await expect(after.admit({ pass: segmentPass, kind: 'segment' })).rejects.toMatchObject({
      code: 'SESSION_ENDED',
    });
    // Where the viewer is known, the segment pass names it and its checks decide.
    expect((await before.admit({ pass: segmentPass, kind: 'segment' })).session).toBe(
      first.session,
    );
  });

  it('signs segment passes for a few seconds, never past the token, again at half-life', async () => {
    const { admit } = setup();
    const tokenExp = now + 60_000;
    const first = await admit({ token: 't1' });
    const exp = (pass: string) => Number(pass.split('.')[1]) * 1000;
    expect(exp(first.passes.segment)).toBe(Math.floor((now + 8000) / 1000) * 1000);
    now += 3000;
    const again = await admit({ pass: first.passes.playlist });
    expect(again.passes.segment).toBe(first.passes.segment);
    now += 2000;
    const later = await admit({ pass: first.passes.playlist });
    expect(later.passes.segment).not.toBe(first.passes.segment);
    now = tokenExp - 5000;
    const last = await admit({ pass: first.passes.playlist });
    expect(exp(last.passes.segment)).toBe(Math.floor(tokenExp / 1000) * 1000);
  });
});
