import { randomBytes } from 'node:crypto';
import type { JsonStateFile } from '../../state/json-state-file.js';
import { passKeySchema } from '../../config/schema.js';

/** A key that signs (or only verifies) passes. `secret` is used as its UTF-8 bytes, as nginx njs does. */
export interface PassKey {
  kid: string;
  secret: string;
}

/** Is this a key the config would accept (kid pattern, secret of 32+ printable characters)? */
const isPassKey = (key: unknown): key is PassKey => passKeySchema.safeParse(key).success;

/**
 * The keys of one kind of pass. The first signs; every one verifies, so a rotation adds the new key
 * first and drops the old one once no pass it signed can still be in use.
 */
export class PassKeyring {
  readonly #keys: readonly PassKey[];
  readonly #byKid: ReadonlyMap<string, PassKey>;

  constructor(keys: readonly PassKey[]) {
    if (keys.length === 0) throw new Error('a pass keyring needs at least one key');
    for (const key of keys)
      if (!passKeySchema.safeParse(key).success)
        throw new Error(`pass key "${key.kid}" is not a valid kid and secret`);
    this.#keys = keys;
    this.#byKid = new Map(keys.map((k) => [k.kid, k]));
    if (this.#byKid.size !== keys.length) throw new Error('pass key ids must be unique');
  }

  get signing(): PassKey {
    return this.#keys[0]!;
  }

  get(kid: string): PassKey | undefined {
    return this.#byKid.get(kid);
  }

  get kids(): string[] {
    return this.#keys.map((k) => k.kid);
  }

  /**
   * The configured keys; else the ones generated on a first start and kept in the state file (so
   * passes survive restarts), generated now if there are none. Never logged.
   */
  static async load(
    configured: readonly PassKey[],
    state: JsonStateFile<PassKey[]>,
    prefix: string,
  ): Promise<PassKeyring> {
    if (configured.length > 0) return new PassKeyring(configured);
    const saved = await state.load([], (v) => (Array.isArray(v) ? v.filter(isPassKey) : []));
    if (saved.length > 0) return new PassKeyring(saved);
    const generated = [
      {
        kid: `${prefix}-${randomBytes(4).toString('hex')}`,
        secret: randomBytes(32).toString('base64url'),
      },
    ];
    await state.save(generated);
    return new PassKeyring(generated);
  }
}
