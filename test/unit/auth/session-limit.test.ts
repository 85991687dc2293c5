import { describe, expect, it } from 'vitest';
import { resolveSessionLimit } from '../../../src/auth/session-limit.js';
import { testGrant } from '../../helpers/grants.js';

const keyLimits = { play: 3, publish: 1, onLimit: 'replace-oldest' as const };
/** A principal's token (a key with `subject: principal`, or an issuer's): `sub` is a person. */
const principal = (overrides: Parameters<typeof testGrant>[0]) =>
  testGrant({ subjectIsStream: false, ...overrides });

describe('resolveSessionLimit', () => {
  it("takes the stream rule's limit for the action, else the signing key's, with its onLimit", () => {
    const grant = principal({ subject: 'alice', keySessionLimits: keyLimits });
    expect(resolveSessionLimit(grant, 'play', undefined, false)).toEqual({
      subject: 'sub:alice',
      max: 3,
      onLimit: 'replace-oldest',
    });
    const rule = { maxSessionsPerSubject: { play: 5, onLimit: 'refuse' as const } };
    expect(resolveSessionLimit(grant, 'play', rule, false)).toEqual({
      subject: 'sub:alice',
      max: 5,
      onLimit: 'refuse',
    });
    // The rule sets no publish limit: the key's applies.
    expect(resolveSessionLimit(grant, 'publish', rule, false)).toMatchObject({
      max: 1,
      onLimit: 'replace-oldest',
    });
    expect(resolveSessionLimit(principal({ subject: 'alice' }), 'play', undefined, false)).toBe(
      undefined,
    );
  });

  it('lets the max_sessions claim lower a limit, or set one, never raise it', () => {
    const lower = testGrant({
      subject: 'sub:alice',
      keySessionLimits: keyLimits,
      claims: { max_sessions: 2 },
    });
    expect(resolveSessionLimit(lower, 'play', undefined, false)).toMatchObject({ max: 2 });
    expect(resolveSessionLimit(lower, 'publish', undefined, false)).toMatchObject({ max: 1 });
    const alone = principal({ subject: 'alice', claims: { max_sessions: 4 } });
    expect(resolveSessionLimit(alone, 'play', undefined, false)).toEqual({
      subject: 'sub:alice',
      max: 4,
      onLimit: 'refuse',
    });
    for (const bad of [0, 1.5, '2', -1])
      expect(() =>
        resolveSessionLimit(principal({ claims: { max_sessions: bad } }), 'play', undefined, false),
      ).toThrow(expect.objectContaining({ code: 'CLAIM_INVALID', claim: 'max_sessions' }));
  });

  it('refuses a limited token without sub CLAIM_INVALID (claim sub), and never limits an open stream’s token-less client', () => {
    const subjectless = principal({ subject: undefined, keySessionLimits: keyLimits });
    expect(() => resolveSessionLimit(subjectless, 'play', undefined, false)).toThrow(
      expect.objectContaining({ code: 'CLAIM_INVALID', claim: 'sub' }),
    );
    expect(resolveSessionLimit(principal({ subject: undefined }), 'play', undefined, false)).toBe(
      undefined,
    );
    const rule = { maxSessionsPerSubject: { play: 1, onLimit: 'refuse' as const } };
    expect(resolveSessionLimit(subjectless, 'play', rule, true)).toBe(undefined);
  });

  it('counts a stream-bound token by itself (one ticket, one token), and a principal per issuer', () => {
    const ticket = testGrant({
      subject: 'live/cam1',
      tokenId: 'ticket-7',
      claims: { max_sessions: 1 },
    });
    expect(resolveSessionLimit(ticket, 'play', undefined, false)).toEqual({
      subject: 'token:ticket-7',
      max: 1,
      onLimit: 'refuse',
    });
    const fromIdp = principal({
      subject: 'alice',
      issuer: 'https://idp.example',
      claims: { max_sessions: 2 },
    });
    expect(resolveSessionLimit(fromIdp, 'play', undefined, false)).toMatchObject({
      subject: 'iss:https://idp.example sub:alice',
    });
  });
});
