// The in-memory playlist store over a real directory: one read per version (FFmpeg renames each new
// version into place), the new version served once its change is seen, a removed file a miss, and
// a directory removed and made again (a stream ended, then published anew) watched afresh.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as fsPromises from 'node:fs/promises';
import { PlaylistStore } from '../../../src/delivery/playlist-store.js';
import { renderPlaylist } from '../../../src/delivery/playlist-template.js';
import { eventually } from '../../helpers/http.js';

vi.mock('node:fs/promises', { spy: true });
const stores: PlaylistStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  vi.mocked(fsPromises.readFile).mockClear();
});

const version = (n: number) => `#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:${n}\n#EXTINF:1,\nseg${n}.ts\n`;
/** As FFmpeg does: write aside, rename into place. */
const publishVersion = (path: string, n: number) => {
  writeFileSync(`${path}.tmp`, version(n));
  renameSync(`${path}.tmp`, path);
};
const text = async (store: PlaylistStore, path: string) =>
  renderPlaylist(await store.get(path), { playlist: 'P', segment: 'S' });

describe('PlaylistStore', () => {
  it('reads each version once and serves the next one once it is renamed into place', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sd-store-')), 'cam1');
    mkdirSync(dir);
    const path = join(dir, 'copy.m3u8');
    publishVersion(path, 1);
    const store = new PlaylistStore('vs');
    stores.push(store);
    for (let i = 0; i < 50; i++) expect(await text(store, path)).toContain('seg1.ts?vs=S');
    expect(vi.mocked(fsPromises.readFile)).toHaveBeenCalledTimes(1);
    publishVersion(path, 2);
    await eventually(async () =>
      (await text(store, path)).includes('seg2.ts') ? true : undefined,
    );
    expect(vi.mocked(fsPromises.readFile)).toHaveBeenCalledTimes(2);
  });

  it('misses a removed file, and watches a directory made again', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sd-store-'));
    const dir = join(root, 'cam1');
    mkdirSync(dir);
    const path = join(dir, 'copy.m3u8');
    publishVersion(path, 1);
    const store = new PlaylistStore('vs');
    stores.push(store);
    expect(await text(store, path)).toContain('seg1.ts');
    rmSync(dir, { recursive: true });
    await eventually(async () =>
      (await store.get(path).then(
        () => false,
        (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
      ))
        ? true
        : undefined,
    );
    mkdirSync(dir);
    publishVersion(path, 7);
    expect(await text(store, path)).toContain('seg7.ts');
    publishVersion(path, 8);
    await eventually(async () =>
      (await text(store, path)).includes('seg8.ts') ? true : undefined,
    );
  });
});
