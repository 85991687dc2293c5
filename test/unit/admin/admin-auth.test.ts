// Admin credentials: API keys by constant-time digest, JWTs through the one authenticator (with the
// caller's address and Origin), and nothing else.
import { describe, expect, it } from 'vitest';
import { AdminAuth, actorLabel } from '../../../src/admin/admin-auth.js';
import type { AccessRequest, Authenticator } from '../../../src/auth/authenticator.js';
import type { Grant } from '../../../src/auth/grant.js';
import { StagedoorError } from '../../../src/errors.js';

const KEY = 'ops-key-of-at-least-24-characters';

class RecordingAuthenticator implements Authenticator {
  readonly requests: AccessRequest[] = [];
  constructor(private readonly grant: Partial<Grant> | StagedoorError) {}
  async authenticate(request: AccessRequest): Promise<Grant> {
    this.requests.push(request);
    if (this.grant instanceof StagedoorError) throw this.grant;
    return { subject: 'ops', tokenId: 't', expiresAt: Date.now() + 60_000, ...this.grant } as Grant;
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

const caller = (authorization: string | undefined) => ({
  authorization,
  address: '203.0.113.9',
  origin: 'https://ops.example',
});

describe('AdminAuth', () => {
  it('accepts a configured API key, by name, without asking the authenticator', async () => {
    const authenticator = new RecordingAuthenticator({});
    const auth = new AdminAuth([{ name: 'ops', key: KEY }], authenticator);
    const actor = await auth.authenticate(caller(`Bearer ${KEY}`));
    expect(actorLabel(actor)).toBe('api-key:ops');
    expect(authenticator.requests).toEqual([]);
  });

  it('asks the authenticator for admin on a JWT, with the caller address and Origin, and needs exp', async () => {
    const authenticator = new RecordingAuthenticator({});
    const auth = new AdminAuth([], authenticator);
    expect(actorLabel(await auth.authenticate(caller('Bearer eyJ.x.y')))).toBe('token:ops');
    expect(authenticator.requests[0]).toMatchObject({
      token: 'eyJ.x.y',
      action: 'admin',
      protocol: 'http',
      stream: undefined,
      address: '203.0.113.9',
      origin: 'https://ops.example',
    });
    const noExp = new AdminAuth([], new RecordingAuthenticator({ expiresAt: undefined }));
    await expect(noExp.authenticate(caller('Bearer eyJ.x.y'))).rejects.toMatchObject({
      code: 'CLAIM_INVALID',
    });
  });

  it("refuses what is neither: no header, another scheme, an unknown key, the authenticator's refusal", async () => {
    const auth = new AdminAuth(
      [{ name: 'ops', key: KEY }],
      new RecordingAuthenticator(new StagedoorError('SCOPE_DENIED')),
    );
    await expect(auth.authenticate(caller(undefined))).rejects.toMatchObject({
      code: 'TOKEN_MISSING',
    });
    await expect(auth.authenticate(caller(`Basic ${KEY}`))).rejects.toMatchObject({
      code: 'TOKEN_MISSING',
    });
    await expect(auth.authenticate(caller(`Bearer ${KEY}x`))).rejects.toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
    await expect(auth.authenticate(caller('Bearer eyJ.x.y'))).rejects.toMatchObject({
      code: 'SCOPE_DENIED',
    });
  });

  it('refuses API keys shorter than 24 characters at startup', () => {
    expect(
      () => new AdminAuth([{ name: 'short', key: 'x'.repeat(23) }], new RecordingAuthenticator({})),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
