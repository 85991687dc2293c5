import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rewritePlaylist } from '../../../src/delivery/playlist-rewrite.js';
import { preparePlaylist, renderPlaylist } from '../../../src/delivery/playlist-template.js';
import { resolveMediaFile } from '../../../src/delivery/safe-path.js';
import { mediaKindOf } from '../../../src/core/media-layout.js';
import { parseRange } from '../../../src/delivery/byte-range.js';
import { tokenFromRequest } from '../../../src/auth/extract-token.js';
import type { StagedoorError } from '../../../src/errors.js';

describe('playlist rewrite', () => {
  it('adds the pass to variant, segment, key and map URIs, and leaves absolute URIs alone', () => {
    const input = [
      '#EXTM3U',
      '#EXT-X-KEY:METHOD=AES-128,URI="k00001.key",IV=0x01',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXTINF:1.0,',
      'copy_00001.ts',
      'https://cdn.example/x.ts',
      'a.ts?x=1',
      '',
    ].join('\n');
    expect(rewritePlaylist(input, 'vs', 'P.1.M')).toBe(
      [
        '#EXTM3U',
        '#EXT-X-KEY:METHOD=AES-128,URI="k00001.key?vs=P.1.M",IV=0x01',
        '#EXT-X-MAP:URI="init.mp4?vs=P.1.M"',
        '#EXTINF:1.0,',
        'copy_00001.ts?vs=P.1.M',
        'https://cdn.example/x.ts',
        'a.ts?x=1&vs=P.1.M',
        '',
      ].join('\n'),
    );
  });
});

describe('playlist template', () => {
  it('is cut once; playlists and keys get the playlist pass, segments and init the segment pass', () => {
    const media = preparePlaylist(
      '#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="k1.key",IV=0x1\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:1,\ns1.ts\n',
      'vs',
    );
    expect(media.slots).toEqual(['playlist', 'segment', 'segment']);
    expect(renderPlaylist(media, { playlist: 'P', segment: 'S' })).toBe(
      '#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="k1.key?vs=P",IV=0x1\n#EXT-X-MAP:URI="init.mp4?vs=S"\n#EXTINF:1,\ns1.ts?vs=S\n',
    );
    const master = preparePlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\ncopy.m3u8\n', 'vs');
    expect(renderPlaylist(master, { playlist: 'P', segment: 'S' })).toBe(
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\ncopy.m3u8?vs=P\n',
    );
    // A second viewer: the same template, other passes.
    expect(renderPlaylist(media, { playlist: 'Q', segment: 'T' })).toContain('s1.ts?vs=T');
  });
});

describe('safe media paths', () => {
  const root = mkdtempSync(join(tmpdir(), 'sd-root-'));
  mkdirSync(join(root, 'live', 'cam1'), { recursive: true });
  writeFileSync(join(root, 'live', 'cam1', 'index.m3u8'), '#EXTM3U\n');
  const outside = mkdtempSync(join(tmpdir(), 'sd-outside-'));
  writeFileSync(join(outside, 'secret.ts'), 'secret');
  symlinkSync(join(outside, 'secret.ts'), join(root, 'live', 'cam1', 'evil.ts'));

  it('serves files inside the root', async () => {
    expect(await resolveMediaFile(root, 'live', 'cam1', 'index.m3u8')).toBe(
      join(root, 'live', 'cam1', 'index.m3u8'),
    );
  });

  it.each([
    ['live', 'cam1', '../../../etc/passwd'],
    ['..', 'cam1', 'index.m3u8'],
    ['live', '..', 'index.m3u8'],
    ['live', 'cam1', '/etc/passwd'],
    ['live', 'cam1', '..%2findex.m3u8'],
    ['live', 'cam1', 'evil.ts'],
    ['live', 'cam1', 'missing.ts'],
    ['live', 'cam1', '.keyinfo'],
    ['live', 'cam1', 'index.m3u8.bak'],
  ])('refuses %s/%s/%s as NOT_FOUND', async (app, stream, file) => {
    await expect(resolveMediaFile(root, app, stream, file)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('knows the kinds it serves', () => {
    expect([
      mediaKindOf('a.m3u8'),
      mediaKindOf('a.ts'),
      mediaKindOf('k1.key'),
      mediaKindOf('a.txt'),
    ]).toEqual(['playlist', 'segment', 'key', undefined]);
  });
});

describe('byte ranges', () => {
  it('parses single ranges and refuses unsatisfiable ones', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ kind: 'partial', start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'full' });
    expect(parseRange('items=0-1', 100)).toEqual({ kind: 'full' });
  });
});

describe('token from an HTTP request', () => {
  it('reads ?token=, ?jwt=, Bearer and the cookie, in that order', () => {
    expect(tokenFromRequest({ query: { token: 'a' }, authorization: 'Bearer b' })).toBe('a');
    expect(tokenFromRequest({ query: { jwt: 'j' } })).toBe('j');
    expect(tokenFromRequest({ query: {}, authorization: 'bearer b' })).toBe('b');
    expect(tokenFromRequest({ query: {}, cookie: 'x=1; stagedoor_token=c' })).toBe('c');
    expect(tokenFromRequest({ query: {} })).toBeUndefined();
  });

  it('refuses two tokens and a non-Bearer Authorization', () => {
    expect(() => tokenFromRequest({ query: { token: ['a', 'b'] } })).toThrow(
      expect.objectContaining({ code: 'TOKEN_MALFORMED' }) as StagedoorError,
    );
    expect(() => tokenFromRequest({ query: {}, authorization: 'Basic eA==' })).toThrow(
      expect.objectContaining({ code: 'TOKEN_MALFORMED' }) as StagedoorError,
    );
  });
});
