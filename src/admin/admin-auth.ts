import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StagedoorError } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { TokenAuthenticator } from '../auth/authenticator.js';
import type { RevocationList } from '../sessions/revocations.js';
import { authorize } from '../auth/policy.js';

/** Who is calling the admin API, for the audit log. */
export interface AdminActor {
  kind: 'api-key' | 'token';
  /** API key name, or the token's subject (else its id). */
  name: string;
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Admin API authentication: a static API key (compared in constant time, by SHA-256 digest so
 * lengths leak nothing) or a JWT from any trusted key or issuer whose key and scope allow `admin`.
 */
export class AdminAuth {
  readonly #keys: Array<{ name: string; digest: Buffer }>;
  readonly #authenticator: TokenAuthenticator;
  readonly #revocations: RevocationList;

  constructor(apiKeys: Config['admin']['apiKeys'], authenticator: TokenAuthenticator, revocations: RevocationList) {
    this.#keys = apiKeys.map((k, i) => {
      let key: string;
      try {
        key = k.key ?? readFileSync(k.keyFile!, 'utf8').trim();
      } catch (cause) {
        throw new StagedoorError('CONFIG_INVALID', `invalid configuration: "admin.apiKeys[${i}].keyFile": cannot read ${k.keyFile}`, { cause });
      }
      if (key.length < 24) throw new StagedoorError('CONFIG_INVALID', `invalid configuration: "admin.apiKeys[${i}]": keys must be at least 24 characters`);
      return { name: k.name, digest: digest(key) };
    });
    this.#authenticator = authenticator;
    this.#revocations = revocations;
  }

  async authenticate(authorization: string | undefined): Promise<AdminActor> {
    const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    if (!match) throw new StagedoorError('TOKEN_MISSING', 'send Authorization: Bearer <admin token or API key>');
    const presented = match[1]!;
    const presentedDigest = digest(presented);
    let found: string | undefined;
    for (const key of this.#keys) if (timingSafeEqual(key.digest, presentedDigest)) found = key.name;
    if (found !== undefined) return { kind: 'api-key', name: found };
    if (!presented.startsWith('eyJ')) throw new StagedoorError('SIGNATURE_INVALID', 'not a known API key');
    const grant = await this.#authenticator.verify(presented);
    const revoked = this.#revocations.match(grant);
    if (revoked) throw new StagedoorError('TOKEN_REVOKED');
    if (grant.expiresAt === undefined) throw new StagedoorError('CLAIM_INVALID', 'admin tokens must carry exp', { claim: 'exp' });
    authorize(grant, 'admin', undefined);
    return { kind: 'token', name: grant.subject ?? grant.tokenId };
  }
}
