import type { Grant } from '../../src/auth/grant.js';

/** A grant as the authenticator would give for a stream-bound publish token; override what matters. */
export function testGrant(overrides: Partial<Grant> = {}): Grant {
  return {
    subject: 'live/cam1',
    scopes: ['publish'],
    scoped: false,
    tokenId: 't',
    jti: 't',
    kid: 'k',
    issuer: undefined,
    expiresAt: Date.now() + 60_000,
    keyActions: new Set(['publish']),
    subjectIsStream: true,
    subjectRequired: false,
    keySource: 'test',
    signer: undefined,
    claims: {},
    ...overrides,
  };
}
