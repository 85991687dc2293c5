import { describe, expect, it } from 'vitest';
import { authorize, parseStreamScopes, readScopes } from '../../../src/auth/policy.js';
import { streamMatches } from '../../../src/core/stream-path.js';
import type { Grant } from '../../../src/auth/grant.js';
import type { Action } from '../../../src/config/schema.js';
import type { ErrorCode, StagedoorError } from '../../../src/errors.js';

const cam1 = { app: 'live', name: 'cam1' };

function grant(
  claims: Record<string, unknown>,
  keyActions: Action[] = ['publish', 'play'],
  subjectIsStream = true,
  extra: Partial<Grant> = {},
): Grant {
  return {
    subject: claims.sub as string | undefined,
    scopes: readScopes(claims) ?? [],
    scoped: false,
    subjectRequired: false,
    signer: undefined,
    tokenId: 't',
    jti: undefined,
    kid: 'k',
    issuer: undefined,
    expiresAt: undefined,
    keyActions: new Set(keyActions),
    subjectIsStream,
    keySource: 'auth.keys[0]',
    claims,
    ...extra,
  };
}

function outcome(
  g: Grant,
  action: Action,
  stream: { app: string; name: string } = cam1,
): ErrorCode | 'ok' {
  try {
    authorize(g, action, stream);
    return 'ok';
  } catch (error) {
    return (error as StagedoorError).code;
  }
}

describe('what a token may do', () => {
  it('lets the key set the ceiling', () => {
    expect(outcome(grant({ sub: 'cam1' }, ['play']), 'publish')).toBe('SCOPE_DENIED');
    expect(outcome(grant({ sub: 'cam1', scope: 'admin' }), 'admin')).toBe('SCOPE_DENIED');
  });

  it('narrows by scope and by stream-naming sub', () => {
    expect(outcome(grant({ sub: 'cam1' }), 'publish')).toBe('ok');
    expect(outcome(grant({ sub: 'live/cam1' }), 'play')).toBe('ok');
    expect(outcome(grant({ sub: 'other/cam1' }), 'play')).toBe('STREAM_DENIED');
    expect(outcome(grant({ sub: 'cam2' }), 'play')).toBe('STREAM_DENIED');
    expect(outcome(grant({ sub: '*' }), 'play')).toBe('STREAM_DENIED');
    expect(outcome(grant({ sub: 'cam1', scope: 'play' }), 'publish')).toBe('SCOPE_DENIED');
    expect(outcome(grant({ sub: 'cam1', scope: 'openid profile' }), 'play')).toBe('SCOPE_DENIED');
    expect(outcome(grant({ sub: 'cam1', scp: ['play', 'publish'] }), 'publish')).toBe('ok');
  });

  it('takes a token without sub as one for every stream its key and scopes allow, unless the key requires sub', () => {
    expect(outcome(grant({}), 'play')).toBe('ok');
    expect(outcome(grant({}), 'publish', { app: 'other', name: 'x' })).toBe('ok');
    expect(outcome(grant({ scope: 'play:live/*' }), 'play')).toBe('ok');
    expect(outcome(grant({ scope: 'play:live/*' }), 'play', { app: 'vod', name: 'cam1' })).toBe(
      'STREAM_DENIED',
    );
    expect(outcome(grant({}, ['publish', 'play'], true, { subjectRequired: true }), 'play')).toBe(
      'STREAM_DENIED',
    );
    expect(
      outcome(
        grant({ sub: 'live/cam1' }, ['publish', 'play'], true, { subjectRequired: true }),
        'play',
      ),
    ).toBe('ok');
  });

  it('never makes a token an admin token without the exact scope admin', () => {
    const all: Action[] = ['publish', 'play', 'admin'];
    expect(outcome(grant({ sub: 'live/cam1' }, all), 'admin')).toBe('SCOPE_DENIED');
    expect(outcome(grant({}, all), 'admin')).toBe('SCOPE_DENIED');
    expect(outcome(grant({ scope: 'admin:live/cam1' }, all), 'admin')).toBe('SCOPE_DENIED');
    expect(outcome(grant({ scope: 'play publish' }, all), 'admin')).toBe('SCOPE_DENIED');
    expect(outcome(grant({ sub: 'ops', scope: 'admin' }, all), 'admin')).toBe('ok');
    expect(outcome(grant({ scope: 'admin' }, all, true, { keyStreams: ['live/*'] }), 'admin')).toBe(
      'SCOPE_DENIED',
    );
    // An admin scope is not a play or publish scope.
    expect(outcome(grant({ scope: 'admin' }, all), 'play')).toBe('SCOPE_DENIED');
  });

  it('grants nothing to an issuer token without scope (scoped grants)', () => {
    expect(
      outcome(grant({ sub: 'alice' }, ['publish', 'play'], false, { scoped: true }), 'play'),
    ).toBe('SCOPE_DENIED');
    expect(
      outcome(
        grant({ sub: 'alice' }, ['publish', 'play'], false, {
          scoped: true,
          scopes: ['play:live/*'],
        }),
        'play',
      ),
    ).toBe('ok');
  });

  it('reads stream patterns in scopes when sub is a principal', () => {
    const principal = (scope: string) => grant({ sub: 'alice', scope }, ['publish', 'play'], false);
    expect(outcome(principal('publish:live/cam1'), 'publish')).toBe('ok');
    expect(outcome(principal('publish:live/cam2'), 'publish')).toBe('STREAM_DENIED');
    expect(outcome(principal('play:live/*'), 'play')).toBe('ok');
    expect(outcome(principal('play:other/*'), 'play')).toBe('STREAM_DENIED');
    expect(outcome(principal('play:cam*'), 'play')).toBe('ok');
    expect(outcome(principal('play:live/*'), 'publish')).toBe('SCOPE_DENIED');
  });

  it('parses scope lists and patterns', () => {
    expect(readScopes({ scope: ' play  publish:live/a ' })).toEqual(['play', 'publish:live/a']);
    expect(readScopes({ scp: 'play' })).toEqual(['play']);
    expect(readScopes({})).toBeUndefined();
    expect(parseStreamScopes(['openid', 'play', 'publish:live/*'])).toEqual([
      { action: 'play', pattern: undefined },
      { action: 'publish', pattern: 'live/*' },
    ]);
    expect(streamMatches('live/*', cam1)).toBe(true);
    expect(streamMatches('*', cam1)).toBe(true);
    expect(streamMatches('live/cam1/x', cam1)).toBe(false);
    expect(streamMatches('li.e/cam1', cam1)).toBe(false);
  });
});
