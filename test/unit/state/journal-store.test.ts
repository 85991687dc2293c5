import { mkdtempSync, readFileSync, writeFileSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { JournalStore } from '../../../src/state/journal-store.js';
import type { ReadEntry } from '../../../src/state/stored-entries.js';

interface Item {
  id: string;
  n: number;
}
const readItem = (v: unknown): ReadEntry<Item> => {
  const item = v as Partial<Item> | null;
  return typeof item?.id === 'string' && typeof item.n === 'number'
    ? { entry: { id: item.id, n: item.n } }
    : { dropped: 'not an item' };
};

function journal(dir = mkdtempSync(join(tmpdir(), 'sd-journal-'))) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const path = join(dir, 'items.jsonl');
  const store = new JournalStore<Item>(path, {
    what: 'items',
    read: readItem,
    log,
    legacy: { path: join(dir, 'items.json') },
  });
  return { dir, path, store, lines };
}

describe('journal store', () => {
  it('appends each change as one line and reads back the live entries, in order', async () => {
    const { dir, path, store } = journal();
    const all: Item[] = [];
    for (let i = 0; i < 10; i++) {
      const item = { id: `i${i}`, n: i };
      all.push(item);
      await store.save([item], [], all);
    }
    await store.save([{ id: 'i3', n: 33 }], ['i4'], all);
    await store.close();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(12);
    const again = journal(dir).store;
    expect((await again.load()).map((e) => `${e.id}=${e.n}`)).toEqual([
      'i0=0',
      'i1=1',
      'i2=2',
      'i3=33',
      'i5=5',
      'i6=6',
      'i7=7',
      'i8=8',
      'i9=9',
    ]);
  });

  it('rewrites itself whole once dead lines outnumber the live entries', async () => {
    const { dir, path, store } = journal();
    for (let i = 0; i < 200; i++)
      await store.save([{ id: 'same', n: i }], [], [{ id: 'same', n: i }]);
    await store.close();
    expect(readFileSync(path, 'utf8').trim().split('\n').length).toBeLessThanOrEqual(66);
    expect(await journal(dir).store.load()).toEqual([{ id: 'same', n: 199 }]);
  });

  it('ignores a torn last line (a crash mid-append) and mends the file so the next append is whole', async () => {
    const { dir, path } = journal();
    writeFileSync(path, `${JSON.stringify({ set: { id: 'a', n: 1 } })}\n{"set":{"id":"b","n"`);
    const first = journal(dir);
    expect(await first.store.load()).toEqual([{ id: 'a', n: 1 }]);
    await first.store.save(
      [{ id: 'c', n: 3 }],
      [],
      [
        { id: 'a', n: 1 },
        { id: 'c', n: 3 },
      ],
    );
    await first.store.close();
    expect(await journal(dir).store.load()).toEqual([
      { id: 'a', n: 1 },
      { id: 'c', n: 3 },
    ]);
    expect(first.lines.filter((l) => l.event === 'state_entry_dropped')).toEqual([]);
  });

  it('leaves out and logs a line in the middle that cannot be read, keeping the others', async () => {
    const { dir, path } = journal();
    writeFileSync(
      path,
      '{"set":{"id":"a","n":1}}\nnot json\n{"set":{"id":"b","n":"two"}}\n{"set":{"id":"c","n":3}}\n',
    );
    const { store, lines } = journal(dir);
    expect(await store.load()).toEqual([
      { id: 'a', n: 1 },
      { id: 'c', n: 3 },
    ]);
    expect(lines.map((l) => [l.event, l.entry, l.reason])).toEqual([
      ['state_entry_dropped', 'line 2', expect.stringMatching(/^not JSON/)],
      ['state_entry_dropped', 'line 3', 'not an item'],
    ]);
  });

  it('takes over an older whole-file copy once, then removes it', async () => {
    const { dir, path } = journal();
    writeFileSync(join(dir, 'items.json'), JSON.stringify([{ id: 'old', n: 1 }, { id: 'bad' }]));
    const { store, lines } = journal(dir);
    expect(await store.load()).toEqual([{ id: 'old', n: 1 }]);
    expect(existsSync(join(dir, 'items.json'))).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('{"set":{"id":"old","n":1}}\n');
    expect(lines.map((l) => l.event)).toEqual(['state_entry_dropped', 'state_migrated']);
    appendFileSync(path, '{"del":"old"}\n');
    expect(await journal(dir).store.load()).toEqual([]);
  });
});
