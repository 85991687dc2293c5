import type { ProtectedHeaderParameters } from 'jose';
import { StagedoorError } from '../errors.js';
import type { TrustedKey } from './import-key.js';

/**
 * The keys Stagedoor trusts. It picks the key for a token from the token's `kid` and checks that
 * the token's `alg` is the one that key is pinned to: a token never chooses its own algorithm.
 */
export class KeyStore {
  #byKid = new Map<string, TrustedKey>();
  #keys: TrustedKey[] = [];
  #trusted = new Set<object>();
  readonly #global: TrustedKey[];
  #perStream = new Map<string, TrustedKey[]>();

  constructor(keys: readonly TrustedKey[]) {
    this.#global = [...keys];
    this.#rebuild(this.#global, this.#perStream);
  }

  get size(): number {
    return this.#keys.length;
  }

  /** Replaces the keys limited to one stream pattern (empty: none); refuses a kid already in use. */
  setStreamKeys(match: string, keys: readonly TrustedKey[]): void {
    const next = new Map(this.#perStream);
    if (keys.length > 0) next.set(match, [...keys]);
    else next.delete(match);
    this.#rebuild(this.#global, next); // throws on a kid clash, leaving the keys as they were
    this.#perStream = next;
  }

  #rebuild(
    global: readonly TrustedKey[],
    perStream: ReadonlyMap<string, readonly TrustedKey[]>,
  ): void {
    const all = [...global, ...[...perStream.values()].flat()];
    const byKid = new Map<string, TrustedKey>();
    for (const key of all) {
      if (key.kid === undefined) continue;
      if (byKid.has(key.kid))
        throw new StagedoorError(
          'CONFIG_INVALID',
          `invalid configuration: "${key.source}.kid": kid "${key.kid}" is used twice`,
        );
      byKid.set(key.kid, key);
    }
    this.#keys = all;
    this.#byKid = byKid;
    this.#trusted = new Set(all);
  }

  /** Is this key (the one that verified a token) still among the trusted keys? */
  trusts(key: object): boolean {
    return this.#trusted.has(key);
  }

  /** Where a kid is in use, other than among the keys of stream pattern `except`; undefined if free. */
  kidOwner(kid: string, except: string): string | undefined {
    const key = this.#byKid.get(kid);
    if (
      !key ||
      (key.streams?.length === 1 &&
        key.streams[0] === except &&
        this.#perStream.get(except)?.includes(key))
    )
      return undefined;
    return key.source;
  }

  /** Keys that can mint tokens locally (HS keys whose secret the server holds). */
  signingKeys(): TrustedKey[] {
    return this.#keys.filter((k) => k.secret !== undefined);
  }

  /** The keys to try for a token with this header, in order; throws a coded error when none fits. */
  candidatesFor(header: ProtectedHeaderParameters): TrustedKey[] {
    const alg = header.alg;
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none') {
      throw new StagedoorError('ALG_NOT_ALLOWED', `alg ${String(alg)} is never accepted`);
    }
    if (header.kid !== undefined) {
      if (typeof header.kid !== 'string')
        throw new StagedoorError('TOKEN_MALFORMED', 'kid must be a string');
      const key = this.#byKid.get(header.kid);
      if (!key) throw new StagedoorError('KEY_UNKNOWN', 'no trusted key has this kid');
      if (key.alg !== alg)
        throw new StagedoorError(
          'ALG_NOT_ALLOWED',
          `the key with this kid is pinned to ${key.alg}, the token says ${alg}`,
        );
      return [key];
    }
    if (this.#keys.length === 0) throw new StagedoorError('KEY_UNKNOWN', 'no keys are configured');
    const sameAlg = this.#keys.filter((k) => k.alg === alg);
    if (sameAlg.length === 0)
      throw new StagedoorError('ALG_NOT_ALLOWED', `no trusted key is pinned to ${alg}`);
    return sameAlg;
  }
}
