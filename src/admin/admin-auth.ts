import type { RequestUrl } from '../net/request-url.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StagedoorError } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { Authenticator } from '../auth/authenticator.js';

/** Who is calling the admin API, for the audit log. */
export interface AdminActor {
  kind: 'api-key' | 'token';
  /** API key name, or the token's subject (else its id). */
  name: string;
}

/** How an actor is named in the audit log: `api-key:ops`, `token:alice`; `unknown` for none. */
export function actorLabel(actor: AdminActor | undefined): string {
  return actor ? `${actor.kind}:${actor.name}` : 'unknown';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller of an admin request (set by the admin server's onRequest hook). */
    adminActor: AdminActor | undefined;
  }
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Where an admin call comes from: its token is held to the same access rules as any other. */
export interface AdminCaller {
  authorization: string | undefined;
  address: string;
  origin: string | undefined;
  /** The call's URL (a CAT's `catu` is matched against it). */
  url?: RequestUrl | undefined;
}

/**
 * Admin API authentication: a static API key (compared in constant time, by SHA-256 digest so
 * lengths leak nothing) or a JWT with the exact scope `admin` from a key or issuer that allows
 * admin, checked like every other token (revocation, lifetime cap, access rules, key trust).
 */
export class AdminAuth {
  readonly #keys: Array<{ name: string; digest: Buffer }>;
  readonly #authenticator: Authenticator;

  constructor(apiKeys: Config['admin']['apiKeys'], authenticator: Authenticator) {
    this.#keys = apiKeys.map((k, i) => {
      let key: string;
      try {
        key = k.key ?? readFileSync(k.keyFile!, 'utf8').trim();
      } catch (cause) {
        throw new StagedoorError(
          'CONFIG_INVALID',
          `invalid configuration: "admin.apiKeys[${i}].keyFile": cannot read ${k.keyFile}`,
          { cause },
        );
      }
      if (key.length < 24)
        throw new StagedoorError(
          'CONFIG_INVALID',
          `invalid configuration: "admin.apiKeys[${i}]": keys must be at least 24 characters`,
        );
      return { name: k.name, digest: digest(key) };
    });
    this.#authenticator = authenticator;
  }

  async authenticate({ authorization, address, origin, url }: AdminCaller): Promise<AdminActor> {
    const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    if (!match)
      throw new StagedoorError(
        'TOKEN_MISSING',
        'send Authorization: Bearer <admin token or API key>',
      );
    const presented = match[1]!;
    const presentedDigest = digest(presented);
    let found: string | undefined;
    for (const key of this.#keys)
      if (timingSafeEqual(key.digest, presentedDigest)) found = key.name;
    if (found !== undefined) return { kind: 'api-key', name: found };
    if (!presented.startsWith('eyJ'))
      throw new StagedoorError('SIGNATURE_INVALID', 'not a known API key');
    const grant = await this.#authenticator.authenticate({
      token: presented,
      action: 'admin',
      protocol: 'http',
      stream: undefined,
      address,
      origin,
      url,
    });
    if (grant.expiresAt === undefined)
      throw new StagedoorError('CLAIM_INVALID', 'admin tokens must carry exp', { claim: 'exp' });
    return { kind: 'token', name: grant.subject ?? grant.tokenId };
  }
}
