#!/usr/bin/env node
// What each CDN token writer (hls.passes.cdn) adds to a playlist reload, in-process: the cost of
// one signature (µs), and of rendering a viewer's LL-HLS playlist (24 segments with parts, ~150
// URIs) with that CDN's token beside the pass, against the pass alone. A viewer's token is signed
// once per pass window (8 s here) and reused; at 1,000 viewers reloading every part (0.33 s) that is
// 1,000/8 signatures and 3,000 renders a second; CloudFront's policy names no viewer, so one
// signature a second per stream serves them all. Each is also shown signed on every reload, as a
// writer without reuse would. Rounds alternate formats; medians with their range.
// Usage: node bench/cdn-passes.mjs [--rounds 5]   (run `npm run build` first)
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cdnTokenWriter } from '../dist/delivery/pass/cdn/cdn-token-writer.js';
import { cdnSetCookie } from '../dist/delivery/pass/cdn/cdn-cookie.js';
import { compressBody } from '../dist/net/content-encoding.js';
import { preparePlaylist, renderPlaylist } from '../dist/delivery/playlist-template.js';
import { machine } from './lib.mjs';
import { option } from './cluster-lib.mjs';

const ROUNDS = Number(option('rounds', 5));
const VIEWERS = 1000;
const WINDOW_S = 8;
const RELOADS_PER_S = 3;

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (k) => k.export({ type: 'pkcs8', format: 'pem' }).toString();
const cloudfrontRsa = {
  format: 'cloudfront',
  keyPairId: 'KBENCH',
  privateKey: pem(rsa.privateKey),
  baseUrl: 'https://d1.cloudfront.net',
  algorithm: 'SHA1',
  bindAddress: false,
};
const writers = {
  akamai: cdnTokenWriter({
    format: 'akamai',
    key: randomBytes(32).toString('hex'),
    tokenName: 'hdnts',
    algorithm: 'sha256',
    bindAddress: false,
  }),
  'cloudfront-rsa': cdnTokenWriter(cloudfrontRsa),
  'cloudfront-ecdsa': cdnTokenWriter({
    format: 'cloudfront',
    keyPairId: 'KBENCH',
    privateKey: pem(ec.privateKey),
    baseUrl: 'https://d1.cloudfront.net',
    algorithm: 'SHA256',
    bindAddress: false,
  }),
  google: cdnTokenWriter({
    format: 'google',
    keyName: 'bench',
    key: randomBytes(16).toString('base64url'),
    baseUrl: 'https://media.example.com',
  }),
  bunny: cdnTokenWriter({
    format: 'bunny',
    key: randomBytes(24).toString('hex'),
    algorithm: 'HS256',
    bindAddress: false,
  }),
  'bunny-sha256': cdnTokenWriter({
    format: 'bunny',
    key: randomBytes(24).toString('hex'),
    algorithm: 'SHA256',
    bindAddress: false,
  }),
  cat: cdnTokenWriter({
    format: 'cat',
    kid: 'bench',
    key: randomBytes(32).toString('hex'),
    tokenName: 'CAT',
    cwtTag: true,
  }),
};

// A 24-segment LL-HLS media playlist, 3 parts per segment, as the packager writes it.
const lines = [
  '#EXTM3U',
  '#EXT-X-VERSION:9',
  '#EXT-X-TARGETDURATION:1',
  '#EXT-X-PART-INF:PART-TARGET=0.334',
  '#EXT-X-MEDIA-SEQUENCE:100',
  '#EXT-X-MAP:URI="init.mp4"',
];
for (let i = 100; i < 124; i++) {
  for (let p = 0; p < 3; p++)
    lines.push(
      `#EXT-X-PART:DURATION=0.33334,URI="part${i}.${p}.m4s"${p === 0 ? ',INDEPENDENT=YES' : ''}`,
    );
  lines.push('#EXTINF:1.00000,', `seg${i}.m4s`);
}
lines.push(
  '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part124.0.m4s"',
  '#EXT-X-RENDITION-REPORT:URI="low.m3u8",LAST-MSN=123,LAST-PART=2',
);
const template = preparePlaylist(lines.join('\n'), 'vs');
const pass = 'ek-94eb30a7.1796429095.hHqIw6v7NE_XQ6f2.2lDLV1r8hDLSxHS-5ufbt6';
// Each signature for a window ending in a second of its own: what one costs, never shared.
const start = Date.now() + WINDOW_S * 1000;
let seq = 0;
const request = (i) => ({
  dir: '/live/cam1/',
  expiresAt: start + seq++ * 1000,
  viewerId: `v${i}`,
  address: '198.51.100.7',
  segmentPass: pass,
});

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const range = (v) => `${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)}`;

function time(n, fn) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / n; // µs each
}

const results = { none: { render: [], br: [], gzip: [] } };
for (const name of Object.keys(writers)) results[name] = { sign: [], render: [], br: [], gzip: [] };
/** The playlist a writer's viewer gets (the pass alone without one). */
const playlistOf = (writer) =>
  renderPlaylist(template, { playlist: pass, segment: pass, cdn: writer?.sign(request(0)) });
/** Compressing it as the origin does per response (hls.compressPlaylists). */
const compressTimes = (result, text) => {
  result.br.push(time(300, () => compressBody(text, 'br')));
  result.gzip.push(time(300, () => compressBody(text, 'gzip')));
};
for (let round = 0; round < ROUNDS; round++) {
  const order = Object.keys(writers);
  if (round % 2) order.reverse();
  results.none.render.push(
    time(3000, () => renderPlaylist(template, { playlist: pass, segment: pass })),
  );
  compressTimes(results.none, playlistOf(undefined));
  for (const name of order) {
    const writer = writers[name];
    const n = name.startsWith('cloudfront') ? 200 : 5000;
    results[name].sign.push(time(n, (i) => writer.sign(request(i))));
    const cdn = writer.sign(request(0));
    results[name].render.push(
      time(3000, () => renderPlaylist(template, { playlist: pass, segment: pass, cdn })),
    );
    compressTimes(results[name], playlistOf(writer));
  }
}

const none = median(results.none.render);
console.log(
  `\nCDN token writers: a signature, and a 24-segment LL-HLS playlist (${template.slots.length} URIs) rendered per reload, ${ROUNDS} alternating rounds (median, range), ${new Date().toISOString()}, ${machine()}\n`,
);
const bytes = (text) => Buffer.byteLength(text);
/**
 * Bytes uncompressed, and as the origin sends them to a player that accepts Brotli or gzip, with
 * what compressing costs per reload and at 1,000 viewers.
 */
const sized = (text, r) => {
  const br = median(r.br);
  const gz = median(r.gzip);
  const cores = (us) => ((VIEWERS * RELOADS_PER_S * us) / 1e6).toFixed(3);
  return `playlist ${bytes(text)} bytes; compressed br ${compressBody(text, 'br').length} bytes in ${br.toFixed(1)} µs (${cores(br)} cores), gzip ${compressBody(text, 'gzip').length} bytes in ${gz.toFixed(1)} µs (${cores(gz)} cores)`;
};
const alone = bytes(playlistOf(undefined));
console.log(
  `  pass alone: render ${none.toFixed(1)} µs (${range(results.none.render)}), ${sized(playlistOf(undefined), results.none)}`,
);
for (const [name, r] of Object.entries(results)) {
  if (name === 'none') continue;
  const sign = median(r.sign);
  const render = median(r.render);
  // Per reload at 1,000 viewers: the render's extra, plus a signature every window per viewer
  // (CloudFront's policy names no viewer: one a second per stream, shared by all of them).
  const signsPerSec = name.startsWith('cloudfront') ? 1 : VIEWERS / WINDOW_S;
  const perReload = render - none + (signsPerSec * sign) / (VIEWERS * RELOADS_PER_S);
  const coresReuse = (signsPerSec * sign) / 1e6 + (VIEWERS * RELOADS_PER_S * (render - none)) / 1e6;
  const coresNoReuse = (VIEWERS * RELOADS_PER_S * (sign + render - none)) / 1e6;
  console.log(
    `  ${name.padEnd(17)} sign ${sign.toFixed(1)} µs (${range(r.sign)}), render +${(render - none).toFixed(1)} µs; per reload +${perReload.toFixed(1)} µs; 1,000 viewers: ${coresReuse.toFixed(3)} cores reused, ${coresNoReuse.toFixed(3)} signed on every reload; ${sized(playlistOf(writers[name]), r)}`,
  );
}
// Signed cookies instead: the playlist stays the pass-only size; the cookies ride in its headers.
const cookieMode = cdnTokenWriter({ ...cloudfrontRsa, delivery: 'cookie' });
const cookieWindow = request(0);
const cookieBytes = cookieMode
  .cookies(cookieWindow)
  .map((c) => cdnSetCookie(c, (cookieWindow.expiresAt - Date.now()) / 1000))
  .reduce((n, c) => n + bytes(`Set-Cookie: ${c}\r\n`), 0);
console.log(
  `  cloudfront-rsa, signed cookies: playlist ${alone} bytes + ${cookieBytes} bytes of Set-Cookie headers (sent uncompressed)`,
);
console.log('');
