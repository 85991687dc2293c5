import { randomBytes } from 'node:crypto';
import { StagedoorError } from '../../errors.js';
import type { TokenReservation, UsedTokenStore } from '../../auth/authenticator.js';
import type { RedisConnection } from './redis-connection.js';

const DEFAULT_HOLD_MS = 24 * 3600_000;

/**
 * Single-use publish tokens across the cluster: admission claims `used:<jti>` with `SET NX` until
 * the token's exp, so a token admitted on one node is TOKEN_REUSED on every other. The claim is
 * given back if the session then fails to open. Redis away: single-use tokens are refused
 * (CLUSTER_UNAVAILABLE) rather than admitted twice.
 */
export class RedisUsedTokens implements UsedTokenStore {
  readonly #redis: RedisConnection;
  readonly #nodeId: string;

  constructor(redis: RedisConnection, nodeId: string) {
    this.#redis = redis;
    this.#nodeId = nodeId;
  }

  assertUnused(jti: string | undefined): asserts jti is string {
    if (!jti)
      throw new StagedoorError('CLAIM_INVALID', 'single-use publish tokens need a jti', {
        claim: 'jti',
      });
  }

  async reserve(jti: string | undefined, until: number | undefined): Promise<TokenReservation> {
    this.assertUnused(jti);
    const key = this.#redis.key(`used:${jti}`);
    const holder = `${this.#nodeId} ${randomBytes(6).toString('base64url')}`;
    const expireAt = String(Math.max(until ?? Date.now() + DEFAULT_HOLD_MS, Date.now() + 1000));
    const set = await this.#redis.command(['SET', key, holder, 'NX', 'PXAT', expireAt]);
    if (set === null) throw new StagedoorError('TOKEN_REUSED');
    return {
      release: () =>
        void this.#redis.deleteIfHeld(key, holder).catch(() => {
          // Away now: the token stays used, which refuses its owner's retry; never admits it twice.
        }),
    };
  }

  /** The claim made in `reserve` is the use. */
  use(): void {}
}
