import { StagedoorError } from '../errors.js';
import type { JsonStateFile } from '../state/json-state-file.js';
import type { TokenReservation, UsedTokenStore } from './authenticator.js';

/** Single-use publish tokens: each `jti` is admitted once and remembered until its exp (persisted). */
export class UsedTokens implements UsedTokenStore {
  readonly #used = new Map<string, number>();
  readonly #state: JsonStateFile<Record<string, number>>;
  readonly #now: () => number;

  private constructor(state: JsonStateFile<Record<string, number>>, now: () => number) {
    this.#state = state;
    this.#now = now;
  }

  static async create(
    state: JsonStateFile<Record<string, number>>,
    now: () => number = Date.now,
  ): Promise<UsedTokens> {
    const tokens = new UsedTokens(state, now);
    const saved = await state.load({}, (v) =>
      typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, number>) : {},
    );
    const t = now();
    for (const [jti, until] of Object.entries(saved))
      if (typeof until === 'number' && until > t) tokens.#used.set(jti, until);
    return tokens;
  }

  /** Refuses a token that has no jti or whose jti was used already, without using it. */
  assertUnused(jti: string | undefined): asserts jti is string {
    if (!jti)
      throw new StagedoorError('CLAIM_INVALID', 'single-use publish tokens need a jti', {
        claim: 'jti',
      });
    const seen = this.#used.get(jti);
    if (seen !== undefined && seen > this.#now()) throw new StagedoorError('TOKEN_REUSED');
  }

  /** One node decides at the session's opening (`use`, synchronous): nothing to hold before it. */
  async reserve(jti: string | undefined): Promise<TokenReservation> {
    this.assertUnused(jti);
    return { release: () => {} };
  }

  /** Records a use; TOKEN_REUSED when this jti was used already. */
  use(jti: string | undefined, until: number | undefined): void {
    this.assertUnused(jti);
    const now = this.#now();
    this.#used.set(jti, until ?? now + 24 * 3600_000);
    for (const [k, v] of this.#used) if (v <= now) this.#used.delete(k);
    void this.#state.save(Object.fromEntries(this.#used));
  }
}
