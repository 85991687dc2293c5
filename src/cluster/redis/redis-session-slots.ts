import type { Logger } from '../../log/logger.js';
import {
  HeldSlot,
  limitReached,
  REPLACED_REFUSED_MS,
  replacedRefusal,
  type SessionSlot,
  type SessionSlots,
  type SlotRequest,
} from '../../sessions/session-slots.js';
import type { RedisConnection } from './redis-connection.js';

/*
 * A subject's slots for one action are three keys, all named in KEYS (one subject, one hash slot):
 *   order    ZSET holder → when it first took its slot (µs, later than the newest before it): the
 *            oldest goes first at replace-oldest;
 *   beats    HASH "<holder> <node>" → until when that node holds it (ms): renewed by heartbeats, so
 *            that a dead node's slots lapse; a holder lives while any node holds it (an HLS viewer
 *            served by two nodes is one slot);
 *   replaced ZSET holder → until when (ms) a node still holding it must be told it was replaced.
 * Time is Redis's own (TIME), so that the nodes' clocks do not matter.
 */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local micros = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function live()
  local alive = {}
  local beats = redis.call('HGETALL', KEYS[2])
  for i = 1, #beats, 2 do
    if tonumber(beats[i + 1]) > now then
      alive[string.match(beats[i], '^(.*) ')] = true
    else
      redis.call('HDEL', KEYS[2], beats[i])
    end
  end
  for _, holder in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if not alive[holder] then redis.call('ZREM', KEYS[1], holder) end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
end
local function keep(ttl)
  for i = 1, 2 do redis.call('PEXPIRE', KEYS[i], ttl * 3 + 60000) end
end
`;

/**
 * ARGV: holder, node, max, onLimit, ttl (ms), how long a replaced holder is refused (ms). Returns
 * {1, its start (µs), replaced holders…} when the slot is given, {0} at the limit with `refuse`, {-1} when this
 * holder was replaced itself (an HLS viewer coming back on its pass to a node that did not know).
 */
const ACQUIRE = `${PRELUDE}
live()
local holder, node, max, ttl, forget = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('ZSCORE', KEYS[3], holder) then return {-1} end
local out = {1, 0}
local held = redis.call('ZSCORE', KEYS[1], holder)
if held then out[2] = tonumber(held) else
  local count = redis.call('ZCARD', KEYS[1])
  if count >= max then
    if ARGV[4] ~= 'replace-oldest' then return {0} end
    for _, old in ipairs(redis.call('ZRANGE', KEYS[1], 0, count - max)) do
      redis.call('ZREM', KEYS[1], old)
      redis.call('ZADD', KEYS[3], now + forget, old)
      table.insert(out, old)
    end
    local beats = redis.call('HKEYS', KEYS[2])
    for _, field in ipairs(beats) do
      local of = string.match(field, '^(.*) ')
      for i = 3, #out do if of == out[i] then redis.call('HDEL', KEYS[2], field) end end
    end
    redis.call('PEXPIRE', KEYS[3], forget + 60000)
  end
  -- In start order, ties included: never before the newest holder.
  local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  local start = micros
  if newest[2] and tonumber(newest[2]) >= start then start = tonumber(newest[2]) + 1 end
  redis.call('ZADD', KEYS[1], start, holder)
  out[2] = start
end
redis.call('HSET', KEYS[2], holder .. ' ' .. node, now + ttl)
keep(ttl)
return out`;

/**
 * ARGV: holder, node, ttl, started (ms). Keeps this node's hold; puts the holder back if Redis lost
 * it (restarted empty, or away past the TTL). Returns 0 if the holder was replaced meanwhile.
 */
const BEAT = `${PRELUDE}
live()
local holder, node, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[3], holder) then return 0 end
if not redis.call('ZSCORE', KEYS[1], holder) then redis.call('ZADD', KEYS[1], ARGV[4], holder) end
redis.call('HSET', KEYS[2], holder .. ' ' .. node, now + ttl)
keep(ttl)
return 1`;

/** ARGV: holder, node. This node lets go; the holder's slot is free once no node holds it. */
const RELEASE = `${PRELUDE}
redis.call('HDEL', KEYS[2], ARGV[1] .. ' ' .. ARGV[2])
live()
return 1`;

/** Heartbeats sent together, pipelined. */
const BEATS_AT_ONCE = 256;

export interface RedisSessionSlotsOptions {
  nodeId: string;
  /** A slot lapses this long after its node's last heartbeat (a heartbeat every third of it). */
  ttlMs: number;
  log: Logger;
}

/** The slots this node's sessions hold for one holder (usually one). */
interface Holding {
  keys: string[];
  holder: string;
  subject: string;
  action: string;
  /** When the holder took its slot (Redis's clock): its place in line if Redis must be told again. */
  startedAt: number;
  slots: Set<HeldSlot>;
}

/**
 * Concurrent sessions per subject across the cluster, in Redis (see the keys above). A slot is
 * taken in one script (count, refuse or replace the oldest, take); its node renews it every third
 * of `ttlMs` while its session lives, so a SIGKILLed node's slots lapse after `ttlMs`. A replaced
 * holder's node hears it on the `slots-replaced` channel at once, or at its next heartbeat.
 *
 * Redis away: a new limited session is refused CLUSTER_UNAVAILABLE (a limit that cannot be counted
 * is not waived); live sessions keep their slots and go on, and when Redis returns each node puts
 * its holders back (after a restart that lost them too) before it counts a new one. Another node
 * may count first: after a restart that lost the slots, for up to one heartbeat a subject can get
 * more than its limit (Redis with persistence keeps them). A replaced holder stays refused for
 * REPLACED_REFUSED_MS, on every node.
 */
export class RedisSessionSlots implements SessionSlots {
  readonly #redis: RedisConnection;
  readonly #options: RedisSessionSlotsOptions;
  /** By `<action> <subject> <holder>`. */
  readonly #holdings = new Map<string, Holding>();
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  /** This node's slots being put back after Redis returned: new acquires wait for it. */
  #resync: Promise<void> | undefined;

  constructor(redis: RedisConnection, options: RedisSessionSlotsOptions) {
    this.#redis = redis;
    this.#options = options;
  }

  /** Holders with a slot on this node. */
  get size(): number {
    return this.#holdings.size;
  }

  /** Hears replacements made by other nodes, and re-asserts every slot as soon as Redis is back. */
  async start(): Promise<void> {
    await this.#redis.subscribe('slots-replaced', (message) => this.#heard(message));
    this.#redis.onAvailability((up) => {
      if (!up) return;
      const resync = this.#beatAll().finally(() => {
        if (this.#resync === resync) this.#resync = undefined;
      });
      this.#resync = resync;
    });
    this.#timer = setInterval(() => void this.#beatAll(), Math.max(200, this.#options.ttlMs / 3));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async acquire(request: SlotRequest): Promise<SessionSlot> {
    const { action, holder, limit } = request;
    const keys = this.#keys(action, limit.subject);
    const { nodeId, ttlMs } = this.#options;
    // Redis just came back: this node's own slots are put back before a new one is counted.
    await this.#resync;
    let answer: Array<number | string>;
    try {
      answer = await this.#redis.script<Array<number | string>>(ACQUIRE, keys, [
        holder,
        nodeId,
        String(limit.max),
        limit.onLimit,
        String(ttlMs),
        String(REPLACED_REFUSED_MS),
      ]);
    } catch (error) {
      // Timed out, it may have run all the same: the slot is given back rather than left to lapse.
      this.#giveBack(keys, holder);
      throw error;
    }
    if (answer[0] === -1) throw replacedRefusal();
    if (answer[0] !== 1) throw limitReached(request);
    const startedAt = Number(answer[1]);
    const replaced = answer.slice(2).map(String);
    if (replaced.length > 0) {
      this.#options.log.info(
        { event: 'session_limit_replaced', subject: limit.subject, action, replaced },
        'a new session took the slot of its subject’s oldest',
      );
      this.#replaceHere(action, limit.subject, replaced);
      await this.#redis
        .publish('slots-replaced', JSON.stringify({ action, subject: limit.subject, replaced }))
        .catch(() => {}); // the replaced holders' nodes learn it at their next heartbeat anyway
    }
    const id = `${action} ${limit.subject} ${holder}`;
    let holding = this.#holdings.get(id);
    if (!holding) {
      holding = { keys, holder, subject: limit.subject, action, startedAt, slots: new Set() };
      this.#holdings.set(id, holding);
    }
    const entry = holding;
    const slot = new HeldSlot(holder, () => this.#release(id, entry, slot));
    entry.slots.add(slot);
    return slot;
  }

  #keys(action: string, subject: string): string[] {
    // {…}: the three keys of one subject share a hash slot, should Redis ever be a Redis Cluster.
    const tag = `{${action}:${subject}}`;
    return ['order', 'beats', 'replaced'].map((k) => this.#redis.key(`slots:${tag}:${k}`));
  }

  #release(id: string, holding: Holding, slot: HeldSlot): void {
    holding.slots.delete(slot);
    if (holding.slots.size > 0 || this.#holdings.get(id) !== holding) return;
    this.#holdings.delete(id);
    this.#giveBack(holding.keys, holding.holder);
  }

  #giveBack(keys: string[], holder: string): void {
    this.#redis
      .script(RELEASE, keys, [holder, this.#options.nodeId])
      .catch((error: unknown) =>
        this.#options.log.warn(
          { err: error, event: 'session_slot_release_failed', holder },
          'could not give a session slot back; it lapses by itself',
        ),
      );
  }

  #heard(message: string): void {
    try {
      const { action, subject, replaced } = JSON.parse(message) as {
        action: string;
        subject: string;
        replaced: string[];
      };
      this.#replaceHere(action, subject, replaced);
    } catch {
      // not ours: ignored
    }
  }

  /** Ends this node's sessions in the replaced holders' slots (their slots are gone in Redis already). */
  #replaceHere(action: string, subject: string, holders: readonly string[]): void {
    for (const holder of holders) {
      const id = `${action} ${subject} ${holder}`;
      const holding = this.#holdings.get(id);
      if (!holding) continue;
      this.#holdings.delete(id);
      for (const slot of [...holding.slots]) slot.replace();
    }
  }

  async #beatAll(): Promise<void> {
    if (!this.#redis.ready || this.#holdings.size === 0) return;
    const { nodeId, ttlMs } = this.#options;
    let failed = 0;
    const beat = async (id: string, holding: Holding) => {
      if (this.#holdings.get(id) !== holding) return; // released meanwhile: not put back
      let kept: unknown;
      try {
        kept = await this.#redis.script(BEAT, holding.keys, [
          holding.holder,
          nodeId,
          String(ttlMs),
          String(holding.startedAt),
        ]);
      } catch {
        failed++;
        return; // Redis went away mid-round: the next round (or its return) tries again
      }
      if (kept === 0) this.#replaceHere(holding.action, holding.subject, [holding.holder]);
    };
    // Many at a time (pipelined on the one connection), so that tens of thousands of slots are
    // renewed well within a third of the TTL.
    const all = [...this.#holdings];
    for (let at = 0; at < all.length; at += BEATS_AT_ONCE)
      await Promise.all(all.slice(at, at + BEATS_AT_ONCE).map(([id, h]) => beat(id, h)));
    if (failed > 0 && !this.#failing)
      this.#options.log.warn(
        { event: 'session_slots_heartbeat_failed', failed, held: this.#holdings.size },
        'could not renew session slots in Redis: live sessions go on; their slots are renewed when it answers',
      );
    this.#failing = failed > 0;
  }
}
