import { describe, expect, it } from 'vitest';
import {
  LocalSessionSlots,
  REPLACED_REFUSED_MS,
  type SlotRequest,
} from '../../../src/sessions/session-slots.js';

const ask = (
  sessionId: string,
  overrides: Partial<SlotRequest['limit']> & { action?: SlotRequest['action'] } = {},
): SlotRequest => {
  const { action = 'play', ...limit } = overrides;
  return {
    action,
    holder: sessionId,
    limit: { subject: 'alice', max: 2, onLimit: 'refuse', ...limit },
  };
};

describe('LocalSessionSlots', () => {
  it('gives a subject as many slots as its limit, refuses SESSION_LIMIT past it, and frees a slot on release', async () => {
    const slots = new LocalSessionSlots();
    const first = await slots.acquire(ask('s1'));
    await slots.acquire(ask('s2'));
    await expect(slots.acquire(ask('s3'))).rejects.toMatchObject({
      code: 'SESSION_LIMIT',
      message: expect.stringContaining('2 concurrent play sessions'),
    });
    first.release();
    first.release(); // idempotent: frees one slot, once
    expect(slots.size).toBe(1);
    await slots.acquire(ask('s3'));
    await expect(slots.acquire(ask('s4'))).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
  });

  it('counts each subject and each action apart', async () => {
    const slots = new LocalSessionSlots();
    await slots.acquire(ask('s1', { max: 1 }));
    await slots.acquire(ask('s2', { max: 1, subject: 'bob' }));
    await slots.acquire(ask('s3', { max: 1, action: 'publish' }));
    expect(slots.size).toBe(3);
  });

  it('with replace-oldest, tells the oldest holder (in start order) its slot is taken, and gives the new one its place', async () => {
    const slots = new LocalSessionSlots();
    const replaced: string[] = [];
    const held = [];
    for (const id of ['s1', 's2']) {
      const slot = await slots.acquire(ask(id, { onLimit: 'replace-oldest' }));
      slot.onReplaced(() => replaced.push(id));
      held.push(slot);
    }
    held[0]!.release();
    await slots.acquire(ask('s3', { onLimit: 'replace-oldest' }));
    expect(replaced).toEqual([]); // a slot was free again
    await slots.acquire(ask('s4', { onLimit: 'replace-oldest' }));
    expect(replaced).toEqual(['s2']);
    expect(slots.size).toBe(2);
    held[1]!.release(); // the replaced holder's end gives back nothing more
    expect(slots.size).toBe(2);
    // A lower limit met later cuts as many as it takes to fit the new one.
    await slots.acquire(ask('s5', { onLimit: 'replace-oldest', max: 1 }));
    expect(slots.size).toBe(1);
    // A listener added after the slot was taken hears it at once.
    let late = false;
    held[1]!.onReplaced(() => (late = true));
    expect(late).toBe(true);
  });

  it('refuses a replaced holder that comes back (an HLS viewer on its pass) for REPLACED_REFUSED_MS, then forgets it', async () => {
    let now = 1_000_000;
    const slots = new LocalSessionSlots(() => now);
    await slots.acquire(ask('v1', { onLimit: 'replace-oldest', max: 1 }));
    await slots.acquire(ask('v2', { onLimit: 'replace-oldest', max: 1 }));
    await expect(
      slots.acquire(ask('v1', { onLimit: 'replace-oldest', max: 1 })),
    ).rejects.toMatchObject({
      code: 'SESSION_LIMIT',
      message: expect.stringContaining('replaced'),
    });
    expect(slots.size).toBe(1); // v2 keeps its slot
    now += REPLACED_REFUSED_MS + 1;
    await slots.acquire(ask('v1', { onLimit: 'replace-oldest', max: 1 }));
  });
});
