import { randomBytes } from 'node:crypto';
import type { RedisConnection } from './redis-connection.js';
import { passKeySchema } from '../../config/schema.js';
import type { PassKey } from '../../delivery/pass/pass-keys.js';

/**
 * Pass keys every node of a cluster shares, kept in Redis: the first node to start creates them
 * (`SET NX`), every node reads the same ones, so a pass from node A verifies on node B. Never one key
 * ring per node. Used only when the config names no pass keys (configured keys win).
 */
export async function sharedPassKeys(redis: RedisConnection, prefix: string): Promise<PassKey[]> {
  const key = redis.key(`pass-keys:${prefix}`);
  const candidate: PassKey[] = [
    {
      kid: `${prefix}-${randomBytes(4).toString('hex')}`,
      secret: randomBytes(32).toString('base64url'),
    },
  ];
  await redis.command(['SET', key, JSON.stringify(candidate), 'NX']);
  const stored = await redis.command<string | null>(['GET', key]);
  let keys: unknown;
  try {
    keys = stored === null ? undefined : JSON.parse(stored);
  } catch {
    keys = undefined;
  }
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    !keys.every((k) => passKeySchema.safeParse(k).success)
  )
    throw new Error(
      `the shared pass keys in Redis (${key}) are not valid: fix or delete that key, or configure hls.passes keys`,
    );
  return keys as PassKey[];
}
