import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { chooseEncoding, compressBody } from '../../../src/net/content-encoding.js';

describe('Accept-Encoding', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['identity', undefined],
    ['gzip', 'gzip'],
    ['br', 'br'],
    ['gzip, deflate, br', 'br'],
    ['gzip, deflate, br, zstd', 'br'],
    ['GZIP', 'gzip'],
    ['br;q=0.5, gzip', 'gzip'],
    ['br;q=0, gzip;q=0.1', 'gzip'],
    ['br;q=0, gzip;q=0', undefined],
    ['*', 'br'],
    ['*;q=0, gzip', 'gzip'],
    ['br;q=0, *', 'gzip'],
    ['deflate', undefined],
    ['gzip;q=abc', undefined],
    ['gzip;q=2', undefined],
    [' , gzip ; q=1.000 ,', 'gzip'],
  ])('%j → %s', (header, expected) => {
    expect(chooseEncoding(header)).toBe(expected);
  });
});

describe('compressing a playlist', () => {
  const playlist = Array.from(
    { length: 99 },
    (_, i) => `#EXT-X-PART:DURATION=0.2,URI="copy_p${i}.m4s?vs=ek-1.1796429095.v.mac&Policy=x"`,
  ).join('\n');

  it.each(['br', 'gzip'] as const)('%s comes back byte for byte, and smaller', (encoding) => {
    const compressed = compressBody(playlist, encoding);
    expect(compressed.length).toBeLessThan(playlist.length / 5);
    const back = encoding === 'br' ? brotliDecompressSync(compressed) : gunzipSync(compressed);
    expect(back.toString()).toBe(playlist);
  });
});
