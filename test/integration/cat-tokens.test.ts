// A Common Access Token (CTA-5007) where a JWT goes: an ffmpeg publisher with a CAT in its RTMP
// stream key, a viewer with one in the HLS query and one in the Authorization header; an expired
// CAT and one for another stream are refused with a JWT's codes; `catu` is held against the URL the
// token came on (scheme, host, path), over RTMP and HLS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, testConfig, type TestServer } from '../helpers/server.js';
import { probe, publish, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { HS_SECRET } from '../helpers/tokens.js';
import { publishWith } from '../helpers/cluster-publish.js';
import { CLAIM, catClaims, makeCat } from '../helpers/cat.js';

const key = Buffer.from(HS_SECRET);
const cat = (sub: string, ttl = 300) => makeCat(catClaims(sub, ttl), { alg: 5, kid: 'hs', key });
let server: TestServer;
let publisher: RunningProcess;

beforeAll(async () => {
  server = await startServer(testConfig(undefined, { hls: { segmentSec: 1 } }));
  publisher = publish(server.url('live/cat', cat('live/cat', 600)), 60);
  await eventually(
    async () =>
      (await fetch(server.hlsUrl('live/cat', cat('live/cat'), 'copy.m3u8'))).status === 200
        ? true
        : undefined,
    20_000,
  );
}, 40_000);

afterAll(async () => {
  publisher?.stop();
  await server?.stop();
});

describe('a Common Access Token', () => {
  it('admits an ffmpeg publisher over RTMP, and a viewer over HLS (query, then Bearer) that ffprobe plays', async () => {
    const started = await server.waitForLog(
      (l) => l.event === 'session_start' && l.stream === 'live/cat' && l.kind === 'publisher',
    );
    expect(started.kid).toBe('hs');
    const probed = await probe(server.hlsUrl('live/cat', cat('live/cat')));
    expect(probed.code).toBe(0);
    expect(probed.streams.map((s) => s.codec_name)).toContain('h264');
    const bearer = await fetch(`http://127.0.0.1:${server.httpPort}/live/cat/index.m3u8`, {
      headers: { authorization: `Bearer ${cat('live/cat')}` },
    });
    expect(bearer.status).toBe(200);
  }, 30_000);

  it('is refused as a JWT is: expired, and for another stream', async () => {
    const expired = await fetch(server.hlsUrl('live/cat', cat('live/cat', -5)));
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe(
      'TOKEN_EXPIRED',
    );
    const other = await fetch(server.hlsUrl('live/cat', cat('live/elsewhere')));
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('STREAM_DENIED');
    const refused = await publishWith(server, `cat2?token=${cat('live/cat2', -5)}`);
    expect(refused.status.level).toBe('error');
    refused.client.destroy();
    const line = await server.waitForLog(
      (l) => l.event === 'access_refused' && l.stream === 'live/cat2',
    );
    expect(line.code).toBe('TOKEN_EXPIRED');
  });

  it('holds catu against the URL it came on: the HLS request, the RTMP tcUrl and stream path', async () => {
    const within = (sub: string, catu: Map<number, Map<number, string>>) =>
      makeCat(catClaims(sub, 300, [[CLAIM.catu, catu]]), { alg: 5, kid: 'hs', key });
    // A viewer's CAT for this host and the stream's directory: every playlist and segment request
    // of ffprobe's playback is within it.
    const here = within(
      'live/cat',
      new Map([
        [1, new Map([[0, '127.0.0.1']])],
        [3, new Map([[1, '/live/cat/']])],
      ]),
    );
    const probed = await probe(server.hlsUrl('live/cat', here));
    expect(probed.code).toBe(0);
    const cdnOnly = within('live/cat', new Map([[1, new Map([[0, 'cdn.example']])]]));
    const refused = await fetch(server.hlsUrl('live/cat', cdnOnly));
    expect(refused.status).toBe(403);
    expect(
      ((await refused.json()) as { error: { code: string; message: string } }).error,
    ).toMatchObject({
      code: 'STREAM_DENIED',
      message: expect.stringContaining('catu') as string,
    });
    // RTMP: tcUrl rtmp://127.0.0.1/live, stream path /live/<name>.
    const rtmpPath = await publishWith(
      server,
      `catu1?token=${within('live/catu1', new Map([[3, new Map([[0, '/live/catu1']])]]))}`,
    );
    expect(rtmpPath.status.code).toBe('NetStream.Publish.Start');
    rtmpPath.client.destroy();
    const rtmpsOnly = await publishWith(
      server,
      `catu2?token=${within('live/catu2', new Map([[0, new Map([[0, 'rtmps']])]]))}`,
    );
    expect(rtmpsOnly.status.level).toBe('error');
    rtmpsOnly.client.destroy();
    const line = await server.waitForLog(
      (l) => l.event === 'access_refused' && l.stream === 'live/catu2',
    );
    expect(line.code).toBe('STREAM_DENIED');
  }, 30_000);
});
