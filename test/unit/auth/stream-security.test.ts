import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  FileStreamRuleStore,
  StreamSecurity,
  type SavedStreamRule,
} from '../../../src/auth/stream-security.js';
import { KeyStore } from '../../../src/auth/key-store.js';
import { JsonStateFile } from '../../../src/state/json-state-file.js';
import type { StreamRuleConfig } from '../../../src/config/schema.js';

const log = pino({ level: 'silent' });
const rule = (
  match: string,
  play: 'open' | 'secured',
  publish: 'open' | 'secured' = 'secured',
): StreamRuleConfig => ({ match, play, publish, keys: [] });

async function create(dir: string, config: StreamRuleConfig[] = []) {
  const keys = new KeyStore([]);
  return {
    keys,
    security: await StreamSecurity.create(
      config,
      keys,
      new FileStreamRuleStore(
        new JsonStateFile<SavedStreamRule[]>(join(dir, 'stream-security.json'), log),
        log,
      ),
      log,
    ),
  };
}

describe('stream security', () => {
  it('uses the most specific matching rule, whatever the order of the config, and secures the rest', async () => {
    const { security } = await create(mkdtempSync(join(tmpdir(), 'sd-sec-')), [
      rule('*', 'secured'),
      rule('*/*', 'secured'),
      rule('open/*', 'open'),
      rule('open/cam*', 'secured'),
      rule('cam9', 'open'),
    ]);
    expect(security.ruleFor({ app: 'open', name: 'x' })?.match).toBe('open/*');
    expect(security.ruleFor({ app: 'open', name: 'cam1' })?.match).toBe('open/cam*');
    expect(security.ruleFor({ app: 'open', name: 'cam9' })?.match).toBe('cam9'); // no wildcard beats any pattern
    expect(security.ruleFor({ app: 'live', name: 'x' })?.match).toBe('*/*');
    expect(security.ruleFor({ app: 'live', name: 'cam9' })?.match).toBe('cam9');
  });

  it('prefers run-time rules over config ones of the same pattern, and secures the rest', async () => {
    const { security } = await create(mkdtempSync(join(tmpdir(), 'sd-sec-')), [
      rule('open/*', 'open'),
      rule('*', 'secured'),
    ]);
    expect(security.securityFor({ app: 'open', name: 'x' }, 'play')).toBe('open');
    expect(security.securityFor({ app: 'open', name: 'x' }, 'publish')).toBe('secured');
    expect(security.securityFor({ app: 'live', name: 'x' }, 'play')).toBe('secured');
    await security.set('open/special', { play: 'secured' });
    expect(security.securityFor({ app: 'open', name: 'special' }, 'play')).toBe('secured');
    expect(security.securityFor({ app: 'open', name: 'other' }, 'play')).toBe('open');
  });

  it('keeps run-time rules and their stream keys across a restart, and can drop them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-sec-'));
    const first = await create(dir, [rule('lobby/*', 'open')]);
    const changes: string[] = [];
    first.security.onChange((_r, match) => changes.push(match));
    await first.security.set('lobby/*', {
      play: 'secured',
      keys: [{ kid: 'lobby-key', alg: 'HS256', secret: 'x'.repeat(32) }],
    });
    expect(changes).toEqual(['lobby/*']);
    const second = await create(dir, [rule('lobby/*', 'open')]);
    expect(readdirSync(dir)).toEqual(['stream-security.json']);
    expect(second.security.securityFor({ app: 'lobby', name: 'a' }, 'play')).toBe('secured');
    expect(second.keys.candidatesFor({ alg: 'HS256', kid: 'lobby-key' })[0]?.streams).toEqual([
      'lobby/*',
    ]);
    expect(await second.security.remove('lobby/*')).toBe(true);
    expect(second.security.securityFor({ app: 'lobby', name: 'a' }, 'play')).toBe('open');
    expect(() => second.keys.candidatesFor({ alg: 'HS256', kid: 'lobby-key' })).toThrow(
      expect.objectContaining({ code: 'KEY_UNKNOWN' }),
    );
  });

  it('refuses bad patterns and settings with a clear error', async () => {
    const { security } = await create(mkdtempSync(join(tmpdir(), 'sd-sec-')));
    await expect(security.set('../x', { play: 'open' })).rejects.toMatchObject({
      code: 'REQUEST_INVALID',
    });
    await expect(security.set('live/x', { play: 'maybe' })).rejects.toMatchObject({
      code: 'REQUEST_INVALID',
    });
    await expect(security.set('live/x', { play: 'open', extra: 1 })).rejects.toMatchObject({
      code: 'REQUEST_INVALID',
    });
  });

  it('reads saved rules one by one: one that does not read is disabled closed, the others apply, and it is kept as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-sec-'));
    const broken = { match: 'live/broken', publish: 'maybe', play: 'open' };
    const fromFile = {
      match: 'live/filekey',
      publish: 'open',
      play: 'open',
      keys: [{ kid: 'f', alg: 'HS256', secretFile: '/etc/shadow', actions: ['publish'] }],
    };
    const admin = {
      match: 'live/adminkey',
      publish: 'secured',
      play: 'secured',
      keys: [{ kid: 'adm', alg: 'HS256', secret: 'x'.repeat(32), actions: ['admin'] }],
    };
    const saved = [broken, rule('live/fine', 'open'), fromFile, { play: 'open' }, admin];
    writeFileSync(join(dir, 'stream-security.json'), JSON.stringify(saved));
    const { security, keys } = await create(dir, [rule('live/*', 'open', 'open')]);
    expect(security.ruleFor({ app: 'live', name: 'fine' })).toMatchObject({ play: 'open' });
    const disabled = (name: string) => security.ruleFor({ app: 'live', name })?.error;
    expect(disabled('broken')).toMatch(/invalid stream settings: publish/);
    expect(disabled('filekey')).toMatch(/secretFile.*never server files/);
    expect(disabled('adminkey')).toMatch(/cannot grant admin/);
    expect(keys.kidOwner('f', 'x')).toBeUndefined(); // the server file was never read as a key
    // A change to another rule writes the unreadable ones back as they were (never "mended" open).
    await security.set('live/other', { play: 'open' });
    const written = JSON.parse(
      readFileSync(join(dir, 'stream-security.json'), 'utf8'),
    ) as unknown[];
    expect(written).toEqual(expect.arrayContaining([broken, fromFile, admin]));
    expect(written).toHaveLength(5); // the entry without a pattern governs nothing and is gone
    // An operator replaces an unreadable rule with a valid one.
    await security.set('live/broken', { publish: 'secured' });
    expect(disabled('broken')).toBeUndefined();
  });
});
