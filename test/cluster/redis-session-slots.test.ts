// The cluster's session slots on a real redis-server, two "nodes" (two connections, two stores) in
// this process: counting across them, replace-oldest telling the other node at once, a replaced
// holder refused when it comes back to a node that never knew it, and a silent node's slots lapsing.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnection } from '../../src/cluster/redis/redis-connection.js';
import { RedisSessionSlots } from '../../src/cluster/redis/redis-session-slots.js';
import type { SlotRequest } from '../../src/sessions/session-slots.js';
import { TestRedis } from '../helpers/redis-server.js';
import { eventually } from '../helpers/http.js';

const log = pino({ level: 'silent' });
const TTL_MS = 600;
let redis: TestRedis;
const connections: RedisConnection[] = [];
const stores: RedisSessionSlots[] = [];

async function node(nodeId: string): Promise<RedisSessionSlots> {
  const connection = await RedisConnection.connect({
    url: redis.url,
    keyPrefix: 'slots-test:',
    commandTimeoutMs: 500,
    log,
  });
  connections.push(connection);
  const slots = new RedisSessionSlots(connection, { nodeId, ttlMs: TTL_MS, log });
  await slots.start();
  stores.push(slots);
  return slots;
}

const ask = (
  holder: string,
  subject: string,
  onLimit: SlotRequest['limit']['onLimit'] = 'refuse',
): SlotRequest => ({ action: 'play', holder, limit: { subject, max: 2, onLimit } });

beforeAll(async () => {
  redis = await TestRedis.start();
});

afterAll(async () => {
  for (const store of stores) store.stop();
  for (const connection of connections) await connection.close();
  await redis?.stop();
});

describe('RedisSessionSlots', () => {
  it('counts one subject across two nodes, one holder once on both, and frees a slot on release', async () => {
    const [x, y] = [await node('x'), await node('y')];
    const first = await x.acquire(ask('h1', 'sub:ann'));
    await y.acquire(ask('h2', 'sub:ann'));
    // The same holder on the other node (an HLS viewer there too): the same slot.
    const again = await y.acquire(ask('h1', 'sub:ann'));
    await expect(x.acquire(ask('h3', 'sub:ann'))).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
    first.release();
    // y still holds h1: the slot is not free yet.
    await expect(x.acquire(ask('h3', 'sub:ann'))).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
    again.release();
    await eventually(async () => {
      try {
        return await x.acquire(ask('h3', 'sub:ann'));
      } catch {
        return undefined;
      }
    }, 3000);
  });

  it('with replace-oldest tells the oldest holder’s node at once, and refuses that holder on a node that never knew it', async () => {
    const [x, y, z] = [await node('x2'), await node('y2'), await node('z2')];
    const replaced: string[] = [];
    const oldest = await x.acquire(ask('old', 'sub:bea', 'replace-oldest'));
    oldest.onReplaced(() => replaced.push('old'));
    await x.acquire(ask('mid', 'sub:bea', 'replace-oldest'));
    const newest = await y.acquire(ask('new', 'sub:bea', 'replace-oldest'));
    await eventually(() => (replaced.length ? true : undefined), 3000);
    expect(replaced).toEqual(['old']);
    // The replaced viewer comes back on its pass to z: refused, and the newest keeps its slot.
    await expect(z.acquire(ask('old', 'sub:bea', 'replace-oldest'))).rejects.toMatchObject({
      code: 'SESSION_LIMIT',
      message: expect.stringContaining('replaced'),
    });
    let cut = false;
    newest.onReplaced(() => (cut = true));
    await new Promise((r) => setTimeout(r, TTL_MS));
    expect(cut).toBe(false);
    expect(redis.cli('ZRANGE', 'slots-test:slots:{play:sub:bea}:order', '0', '-1')).toBe(
      'mid\nnew',
    );
  });

  it('lets the slots of a node that stopped beating lapse after the TTL', async () => {
    const [x, y] = [await node('x3'), await node('y3')];
    await x.acquire(ask('a', 'sub:cy'));
    await x.acquire(ask('b', 'sub:cy'));
    await expect(y.acquire(ask('c', 'sub:cy'))).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
    x.stop(); // as if SIGKILLed: no more heartbeats, no release
    const admitted = await eventually(async () => {
      try {
        return await y.acquire(ask('c', 'sub:cy'));
      } catch {
        return undefined;
      }
    }, TTL_MS * 5);
    expect(admitted).toBeDefined();
  });
});
