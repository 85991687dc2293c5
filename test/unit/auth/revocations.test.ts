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
      new FileRevocationStore(new JsonStateFile<Revocation[]>(file, log)),
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
      new FileRevocationStore(new JsonStateFile<Revocation[]>(file, log)),
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
      ),
      log,
    );
    await expect(list.add({ type: 'email', value: 'x' })).rejects.toMatchObject({
      code: 'PROTOCOL_ERROR',
    });
    await expect(list.add({ type: 'sub', value: '' })).rejects.toMatchObject({
      code: 'PROTOCOL_ERROR',
    });
    await expect(
      list.add({ type: 'sub', value: 'a', until: '2000-01-01T00:00:00Z' }),
    ).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
  });

  it('sets a corrupt state file aside instead of failing or losing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-rev-'));
    const file = join(dir, 'revocations.json');
    writeFileSync(file, '{ not json');
    const list = await RevocationList.create(
      new FileRevocationStore(new JsonStateFile<Revocation[]>(file, log)),
      log,
    );
    expect(list.list()).toEqual([]);
    expect(readdirSync(dir).some((f) => f.startsWith('revocations.json.corrupt-'))).toBe(true);
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
      new FileRevocationStore(new JsonStateFile<Revocation[]>(file, log)),
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
      new FileRevocationStore(new JsonStateFile<Revocation[]>(file, log)),
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
