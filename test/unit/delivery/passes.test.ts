// Viewer passes, alone: a playlist pass seals its token for one stream under rotatable keys; a
// segment pass verifies alone, the same in TypeScript and in the nginx edge's njs (run here under
// Node with the test vectors the edge test also relies on), and by the formula the README gives.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PassKeyring } from '../../../src/delivery/pass/pass-keys.js';
import { PlaylistPasses } from '../../../src/delivery/pass/playlist-pass.js';
import { SegmentPasses } from '../../../src/delivery/pass/segment-pass.js';

const edgeDir = fileURLToPath(new URL('../../../deploy/nginx-edge/', import.meta.url));
const vectors = JSON.parse(readFileSync(`${edgeDir}test-vectors.json`, 'utf8')) as {
  kid: string;
  secret: string;
  vectors: { viewer: string; exp: number; dir: string; pass: string }[];
};
type Check = (value: string, uri: string, keys: Record<string, string>, nowMs: number) => string;
const edge = (await import(pathToFileURL(`${edgeDir}pass.js`).href)) as {
  default: { check: Check };
};

const key = (kid: string, fill: string) => ({ kid, secret: fill.repeat(32) });
const now = 1_800_000_000_000;

describe('playlist passes', () => {
  const passes = new PlaylistPasses(new PassKeyring([key('pk1', 'a')]));
  const pass = passes.seal(
    { viewerId: 'viewer-0001', expiresAt: now + 60_000, token: 'T' },
    'live/a',
  );

  it('open to their viewer and token for their stream, until they expire', () => {
    expect(pass).toMatch(/^pk1\.\d+\.[\w-]+$/);
    expect(passes.open(pass, 'live/a', now)).toEqual({
      viewerId: 'viewer-0001',
      expiresAt: now + 60_000,
      token: 'T',
    });
    expect(passes.open(pass, 'live/b', now)).toBeUndefined();
    expect(passes.open(pass, 'live/a', now + 60_000)).toBeUndefined();
  });

  it('refuse any change and unknown keys; open under a rotated keyring that still lists the old key', () => {
    const [kid, exp, sealed] = pass.split('.') as [string, string, string];
    const flipped = sealed.slice(0, 10) + (sealed[10] === 'A' ? 'B' : 'A') + sealed.slice(11);
    expect(passes.open(`${kid}.${exp}.${flipped}`, 'live/a', now)).toBeUndefined();
    expect(passes.open(`${kid}.${Number(exp) + 1}.${sealed}`, 'live/a', now)).toBeUndefined();
    expect(passes.open(`pk9.${exp}.${sealed}`, 'live/a', now)).toBeUndefined();
    const rotated = new PlaylistPasses(new PassKeyring([key('pk2', 'b'), key('pk1', 'a')]));
    expect(rotated.open(pass, 'live/a', now)?.viewerId).toBe('viewer-0001');
    expect(
      rotated.seal({ viewerId: 'viewer-0002', expiresAt: now + 1000, token: undefined }, 'live/a'),
    ).toMatch(/^pk2\./);
    const retired = new PlaylistPasses(new PassKeyring([key('pk2', 'b')]));
    expect(retired.open(pass, 'live/a', now)).toBeUndefined();
  });
});

describe('segment passes', () => {
  const passes = new SegmentPasses(new PassKeyring([{ kid: vectors.kid, secret: vectors.secret }]));
  const keys = { [vectors.kid]: vectors.secret };

  it('match the shared test vectors, signed here and by the formula the README gives', () => {
    for (const v of vectors.vectors) {
      expect(passes.sign(v.viewer, v.exp * 1000, v.dir)).toBe(v.pass);
      const body = `${vectors.kid}.${v.exp}.${v.viewer}`;
      const mac = createHmac('sha256', vectors.secret)
        .update(`${body}.${v.dir}`)
        .digest('base64url')
        .slice(0, 22);
      expect(v.pass).toBe(`${body}.${mac}`);
      expect(passes.verify(v.pass, v.dir)).toEqual({
        kid: vectors.kid,
        expiresAt: v.exp * 1000,
        viewerId: v.viewer,
      });
    }
  });

  it('are judged the same by the edge’s njs code: ok, forged, other stream, expired, unknown key', () => {
    const { check } = edge.default;
    for (const v of vectors.vectors) {
      const before = v.exp * 1000 - 1;
      const uri = `${v.dir}copy_00001.ts`;
      expect(check(v.pass, uri, keys, before)).toBe('ok');
      expect(check(v.pass, uri, keys, v.exp * 1000)).toBe('expired');
      expect(check(v.pass, '/live/other/copy_00001.ts', keys, before)).toBe('forged');
      expect(passes.verify(v.pass, '/live/other/')).toBeUndefined();
      const forged = v.pass.slice(0, -1) + (v.pass.endsWith('A') ? 'B' : 'A');
      expect(check(forged, uri, keys, before)).toBe('forged');
      expect(passes.verify(forged, v.dir)).toBeUndefined();
      expect(check(v.pass, uri, { other: vectors.secret }, before)).toBe('unknown-key');
      expect(check('', uri, keys, before)).toBe('missing');
      expect(check('a.b.c', uri, keys, before)).toBe('malformed');
    }
  });
});
