import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  FileRevocationStore,
  RevocationList,
  type Revocation,
} from '../../../src/auth/revocations.js';
import { JsonStateFile } from '../../../src/state/json-state-file.js';
import { UsedTokens } from '../../../src/auth/used-tokens.js';

const log = pino({ level: 'silent' });

describe('revocations', () => {
  it('refuse a jti or a sub until their time, survive a restart, and are forgotten after', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sd-rev-')), 'revocations.json');
    let now = Date.parse('2026-01-01T00:00:00Z');
    const list = await RevocationList.create(
      new FileRevocationStore(new JsonStateFile<Revocation[]>(file, log), log),
      log,
      () => now,
    );
    const seen: string[] = [];
    list.onAdd((r) => seen.push(r.value));
    await list.add({ type: 'sub', value: 'alice', until: '2026-01-01T01:00:00Z' });
    await list.add({ type: 'jti', value: 'tok-1' });
    expect(seen).toEqual(['alice', 'tok-1']);
    expect(list.match({ subject: 'alice', jti: undefined })?.type).toBe('sub');
    expect(list.match({ subject: 'bob', jti: 'tok-1' })?.type).toBe('jti');
    expect(list.match({ subject: 'bob', jti: 'tok-2' })).toBeUndefined();
    const reloaded = await RevocationList.create(
      new FileRevocationStore(new JsonStateFile<Revocation[]>(file, log), log),
      log,
      () => now,
    );
    expect(
      reloaded
        .list()
        .map((r) => r.value)
        .sort(),
    ).toEqual(['alice', 'tok-1']);
    now += 2 * 3600_000;
    expect(reloaded.match({ subject: 'alice', jti: undefined })).toBeUndefined();
    await reloaded.prune();
    expect(JSON.parse(readFileSync(file, 'utf8')).map((r: Revocation) => r.value)).toEqual([
      'tok-1',
    ]);
  });

  it('refuses bad input with a clear error', async () => {
    const list = await RevocationList.create(
      new FileRevocationStore(
        new JsonStateFile<Revocation[]>(
          join(mkdtempSync(join(tmpdir(), 'sd-rev-')), 'r.json'),
          log,
        ),
        log,
      ),
      log,
    );
    await expect(list.add({ type: 'email', value: 'x' })).rejects.toMatchObject({
      code: 'REQUEST_INVALID',
    });
    await expect(list.add({ type: 'sub', value: '' })).rejects.toMatchObject({
      code: 'REQUEST_INVALID',
    });
    await expect(
      list.add({ type: 'sub', value: 'a', until: '2000-01-01T00:00:00Z' }),
    ).rejects.toMatchObject({ code: 'REQUEST_INVALID' });
  });

  it('takes a duration ("for") beside "until", keeps it as the same ISO "until", and refuses what it cannot read', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sd-rev-')), 'revocations.json');
    const now = Date.parse('2026-01-01T00:00:00Z');
    const list = await RevocationList.create(
      new FileRevocationStore(new JsonStateFile<Revocation[]>(file, log), log),
      log,
      () => now,
    );
    for (const [duration, ms] of [
      ['30s', 30_000],
      ['15m', 15 * 60_000],
      ['24h', 24 * 3600_000],
      ['7d', 7 * 86_400_000],
      ['366d', 366 * 86_400_000],
    ] as const) {
      const added = await list.add({ type: 'jti', value: `for-${duration}`, for: duration });
      expect(added.until, duration).toBe(new Date(now + ms).toISOString());
    }
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Array<Record<string, unknown>>;
    expect(stored.find((r) => r.value === 'for-15m')).toEqual({
      id: expect.stringMatching(/^r_/),
      type: 'jti',
      value: 'for-15m',
      until: '2026-01-01T00:15:00.000Z',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    const refusal = (input: Record<string, unknown>) =>
      list.add({ type: 'sub', value: 'x', ...input }).then(
        () => undefined,
        (error: { code: string; message: string }) => `${error.code} ${error.message}`,
      );
    expect(await refusal({ for: '1h', until: '2026-01-02T00:00:00Z' })).toMatch(
      /^REQUEST_INVALID for, until: give one of them/,
    );
    for (const bad of ['2x', '1.5h', '0s', '', 'h', -5, 3600])
      expect(await refusal({ for: bad }), String(bad)).toMatch(
        /^REQUEST_INVALID for: .* is not a positive duration: use a whole number and s, m, h or d/,
      );
    expect(await refusal({ for: '367d' })).toBe(
      'REQUEST_INVALID for: at most 366d, the longest a revocation lasts',
    );
    expect(list.list().map((r) => r.value)).not.toContain('x');
  });

  it('refuses to start on a state file it cannot read at all, naming the file, and leaves it as it is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-rev-'));
    const file = join(dir, 'revocations.json');
    const truncated =
      '[{"id":"r_1","type":"jti","value":"stolen","until":"2099-01-01T00:00:00.000Z"},{"id":"r_';
    writeFileSync(file, truncated);
    const error = await RevocationList.create(
      new FileRevocationStore(new JsonStateFile<Revocation[]>(file, log), log),
      log,
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STATE_UNREADABLE' });
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/backup/);
    expect(readFileSync(file, 'utf8')).toBe(truncated);
    expect(readdirSync(dir)).toEqual(['revocations.json']);
  });

  it('keeps every entry that still names what it revokes, and logs each one mended or dropped', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sd-rev-')), 'revocations.json');
    const now = Date.parse('2026-12-01T00:00:00Z');
    writeFileSync(
      file,
      JSON.stringify([
        { id: 'r_ok', type: 'jti', value: 'ok', until: '2026-12-02T00:00:00.000Z', createdAt: 'x' },
        { id: 'r_sec', type: 'jti', value: 'seconds', until: now / 1000 + 3600 },
        { id: 'r_bad', type: 'sub', value: 'bad-until', until: 'tomorrow' },
        { id: 'r_none', type: 'email', value: 'nobody' },
        'not an entry',
      ]),
    );
    const lines: Array<Record<string, unknown>> = [];
    const capture = pino(
      { level: 'warn' },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const list = await RevocationList.create(
      new FileRevocationStore(new JsonStateFile<Revocation[]>(file, capture), capture),
      capture,
      () => now,
    );
    expect(list.match({ jti: 'ok', subject: undefined })?.id).toBe('r_ok');
    expect(list.match({ jti: 'seconds', subject: undefined })?.until).toBe(
      '2026-12-01T01:00:00.000Z',
    );
    // An end that cannot be read keeps the revocation (closed), as long as one may last.
    expect(list.match({ jti: undefined, subject: 'bad-until' })).toBeDefined();
    expect(list.list().map((r) => r.id)).toEqual(['r_ok', 'r_sec', 'r_bad']);
    const told = lines.map((l) => [l.event, l.entry, l.reason]);
    expect(told).toEqual([
      ['state_entry_mended', '1', expect.stringContaining('is a number')],
      ['state_entry_mended', '2', expect.stringContaining('is not a time')],
      ['state_entry_dropped', '3', 'type is not "jti" or "sub"'],
      ['state_entry_dropped', '4', 'not an object'],
    ]);
  });
});

describe('single-use tokens', () => {
  it('admits a jti once until its expiry, across restarts', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sd-used-')), 'used.json');
    const now = 1_000_000;
    const used = await UsedTokens.create(
      new JsonStateFile<Record<string, number>>(file, log),
      () => now,
    );
    used.use('j1', now + 5000);
    expect(() => used.use('j1', now + 5000)).toThrow(
      expect.objectContaining({ code: 'TOKEN_REUSED' }),
    );
    expect(() => used.use(undefined, now + 5000)).toThrow(
      expect.objectContaining({ code: 'CLAIM_INVALID' }),
    );
    await new Promise((r) => setTimeout(r, 50));
    const again = await UsedTokens.create(
      new JsonStateFile<Record<string, number>>(file, log),
      () => now,
    );
    expect(() => again.use('j1', now + 5000)).toThrow(
      expect.objectContaining({ code: 'TOKEN_REUSED' }),
    );
    const later = await UsedTokens.create(
      new JsonStateFile<Record<string, number>>(file, log),
      () => now + 6000,
    );
    expect(() => later.use('j1', now + 20_000)).not.toThrow();
  });
});

describe('revocations under concurrency', () => {
  it('keeps every entry when many are added at once', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sd-rev-')), 'revocations.json');
    const list = await RevocationList.create(
      new FileRevocationStore(new JsonStateFile<Revocation[]>(file, log), log),
      log,
    );
    await Promise.all(
      Array.from({ length: 25 }, (_, i) => list.add({ type: 'jti', value: `j${i}` })),
    );
    expect(list.list()).toHaveLength(25);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveLength(25);
  });
});

describe('revocation lookups', () => {
  it('find a grant by its jti or its sub among many entries, and only while the entry lasts', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sd-rev-many-')), 'revocations.json');
    let now = Date.parse('2026-01-01T00:00:00Z');
    const list = await RevocationList.create(
      new FileRevocationStore(new JsonStateFile<Revocation[]>(file, log), log),
      log,
      () => now,
    );
    for (let i = 0; i < 500; i++)
      await list.add({
        type: i % 2 ? 'jti' : 'sub',
        value: `v${i}`,
        until: '2026-01-01T00:10:00Z',
      });
    await list.add({ type: 'sub', value: 'v1', until: '2026-01-01T00:05:00Z' }); // a sub named like a jti above
    expect(list.match({ jti: 'v1', subject: undefined })?.type).toBe('jti');
    expect(list.match({ jti: undefined, subject: 'v2' })?.type).toBe('sub');
    expect(list.match({ jti: 'v2', subject: 'nobody' })).toBeUndefined(); // v2 is a revoked sub, not a jti
    expect(list.match({ jti: undefined, subject: 'v1' })?.until).toBe('2026-01-01T00:05:00.000Z');
    now = Date.parse('2026-01-01T00:06:00Z');
    expect(list.match({ jti: undefined, subject: 'v1' })).toBeUndefined();
    expect(list.match({ jti: 'v1', subject: undefined })?.type).toBe('jti');
    now = Date.parse('2026-01-01T00:11:00Z');
    expect(list.match({ jti: 'v1', subject: 'v2' })).toBeUndefined();
  });
});
