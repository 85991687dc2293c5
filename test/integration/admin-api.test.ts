import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { publish, sleep, type RunningProcess } from '../helpers/ffmpeg.js';
import { eventually } from '../helpers/http.js';
import { makeSampleFlv } from '../helpers/flv.js';
import { openPublisher, sendPaced } from '../helpers/ws-client.js';
import { RawRtmpClient } from '../helpers/raw-rtmp-client.js';
import { nowSec, sign, token } from '../helpers/tokens.js';

let server: TestServer;
let rtmpPublisher: RunningProcess;
let progressPublisher: RunningProcess | undefined;
let flvFile: string;

beforeAll(async () => {
  // FFmpeg's progress is what some of these show: FFmpeg makes every stream's HLS here.
  server = await startServer(testConfig(undefined, { hls: { packager: { enabled: false } } }));
  flvFile = makeSampleFlv(mkdtempSync(join(tmpdir(), 'sd-admin-')), 20);
  rtmpPublisher = publish(
    server.url('live/rtmpcam', await token('live/rtmpcam', 'publish', 300)),
    120,
    '320x180',
  );
  await eventually(
    async () =>
      (await fetch(server.hlsUrl('live/rtmpcam', await token('live/rtmpcam', 'play')))).status ===
      200
        ? true
        : undefined,
    20_000,
  );
}, 40_000);

afterAll(async () => {
  rtmpPublisher?.stop();
  progressPublisher?.stop();
  await server.stop();
});

const admin = (path: string, init: RequestInit & { auth?: string } = {}) =>
  fetch(`http://127.0.0.1:${server.adminPort}${path}`, {
    ...init,
    headers: {
      ...(init.auth === '' ? {} : { authorization: `Bearer ${init.auth ?? ADMIN_API_KEY}` }),
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
  });

interface Snapshot {
  id: string;
  kind: string;
  protocol: string;
  stream: string;
  subject?: string;
  expiresAt?: string;
}
const sessions = async (query = ''): Promise<Snapshot[]> =>
  ((await (await admin(`/api/v1/sessions${query}`)).json()) as { sessions: Snapshot[] }).sessions;

/** Minimal Prometheus text-format parser: name{labels} value. */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.eE+-]+|[Nn]a[Nn]|\+Inf|-Inf)$/i.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${line}`);
    values.set(match[1]!, Number(match[2]));
  }
  return values;
}
const metric = async (name: string): Promise<number> => {
  const values = parseMetrics(await (await admin('/metrics', { auth: '' })).text());
  return [...values]
    .filter(([k]) => k === name || k.startsWith(`${name}{`))
    .reduce((sum, [, v]) => sum + v, 0);
};

describe('admin API', () => {
  it('refuses missing, wrong and non-admin credentials', async () => {
    const missing = await admin('/api/v1/sessions', { auth: '' });
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe(
      'TOKEN_MISSING',
    );
    expect((await admin('/api/v1/sessions', { auth: 'not-the-key-0123456789abcdef' })).status).toBe(
      401,
    );
    expect(
      (
        await admin('/api/v1/sessions', {
          auth: await sign(
            { sub: 'op', scope: 'admin', exp: nowSec() + 60 },
            { kid: 'hs' },
            new TextEncoder().encode('y'.repeat(32)),
          ),
        })
      ).status,
    ).toBe(401);
    const player = await admin('/api/v1/sessions', { auth: await token('live/x', 'play') });
    expect(player.status).toBe(403);
    expect(((await player.json()) as { error: { code: string } }).error.code).toBe('SCOPE_DENIED');
    expect(
      (
        await admin('/api/v1/sessions', {
          auth: await sign({ sub: 'op', scope: 'admin', exp: nowSec() + 60 }, { kid: 'hs' }),
        })
      ).status,
    ).toBe(200);
    expect(
      server.logs.some(
        (l) => l.event === 'access_refused' && l.protocol === 'http' && l.code === 'SCOPE_DENIED',
      ),
    ).toBe(true);
  });

  it('lists an RTMP publisher, an HLS viewer and a WebSocket publisher, and kicks each at once', async () => {
    await fetch(server.hlsUrl('live/rtmpcam', await token('live/rtmpcam', 'play')));
    const ws = await openPublisher(
      `ws://127.0.0.1:${server.httpPort}/ws/live/wscam?token=${await token('live/wscam', 'publish', 300)}`,
    );
    void sendPaced(ws.ws!, flvFile, 20);
    await sleep(300);
    const list = await sessions();
    const rtmp = list.find(
      (s) => s.protocol === 'rtmp' && s.kind === 'publisher' && s.stream === 'live/rtmpcam',
    )!;
    const hls = list.find((s) => s.protocol === 'hls' && s.stream === 'live/rtmpcam')!;
    const wsPub = list.find((s) => s.protocol === 'ws')!;
    for (const s of [rtmp, hls, wsPub]) {
      expect(s.subject).toBeDefined();
      expect(Date.parse(s.expiresAt!)).toBeGreaterThan(Date.now());
    }
    const hlsOnly = await sessions('?protocol=hls');
    expect(hlsOnly.map((s) => s.id)).toContain(hls.id);
    expect(hlsOnly.every((s) => s.protocol === 'hls')).toBe(true);
    expect((await sessions('?kind=publisher&stream=live/wscam')).map((s) => s.id)).toEqual([
      wsPub.id,
    ]);
    expect((await admin(`/api/v1/sessions/${hls.id}`)).status).toBe(200);

    for (const target of [wsPub, hls, rtmp]) {
      const res = await admin(`/api/v1/sessions/${target.id}`, { method: 'DELETE' });
      expect(res.status).toBe(200);
      // The kick closes the session before the API answers: its end is already in the log.
      const ended = server.logs.find((l) => l.event === 'session_end' && l.sessionId === target.id);
      expect(ended?.reason).toBe('kicked');
      const kicked = server.logs.find(
        (l) => l.event === 'session_kicked' && l.sessionId === target.id,
      )!;
      expect(kicked).toMatchObject({
        actor: 'api-key:ops',
        subject: target.subject,
        stream: target.stream,
      });
    }
    const wsClosed = await ws.closed;
    expect(wsClosed.closeCode).toBe(4403);
    expect((await rtmpPublisher.exited).code).not.toBe(0);
    expect((await admin('/api/v1/sessions/s_unknown', { method: 'DELETE' })).status).toBe(404);
    expect(
      server.logs.filter((l) => l.event === 'admin_call' && l.method === 'DELETE').length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('exposes Prometheus metrics whose counters move with admissions, refusals and expiry', async () => {
    const admitted = await metric('stagedoor_admissions_total');
    const refused = await metric('stagedoor_refusals_total');
    const expired = await metric('stagedoor_expiry_disconnects_total');
    const client = await RawRtmpClient.open(server.rtmpPort);
    await client.handshake();
    client.connectApp('live');
    client.publish(
      `metrics?token=${await sign({ sub: 'live/metrics', scope: 'publish', exp: (Date.now() + 800) / 1000 }, { kid: 'hs' })}`,
    );
    await client.closed;
    expect(await fetch(server.hlsUrl('live/metrics'))).toHaveProperty('status', 401);
    expect(await metric('stagedoor_admissions_total')).toBe(admitted + 1);
    expect(await metric('stagedoor_refusals_total')).toBe(refused + 1);
    expect(await metric('stagedoor_expiry_disconnects_total')).toBe(expired + 1);
    const text = await (await admin('/metrics', { auth: '' })).text();
    expect(text).toContain(
      'stagedoor_refusals_total{protocol="hls",action="play",code="TOKEN_MISSING"}',
    );
    expect(text).toContain('stagedoor_hls_requests_total');
    expect(text).toContain('stagedoor_sessions');
    // Process and Node metrics under their standard names, for stock dashboards.
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toMatch(/^stagedoor_build_info\{version="\d+\.\d+\.\d+",nodejs="[\d.]+"\} 1$/m);
  });

  it("shows FFmpeg's fps, speed and newest segment per stream, in the API and the metrics", async () => {
    type Listed = {
      stream: string;
      transcoder?: {
        state: string;
        fps?: number;
        speed?: number;
        droppedFrames?: number;
        lastSegmentAgeSec?: number;
        warnings: string[];
      };
    };
    progressPublisher = publish(
      server.url('live/progress', await token('live/progress', 'publish', 300)),
      120,
      '320x180',
    );
    const listed = await eventually(async () => {
      const { streams } = (await (await admin('/api/v1/streams')).json()) as { streams: Listed[] };
      const cam = streams.find((s) => s.stream === 'live/progress');
      return cam?.transcoder?.fps && cam.transcoder.speed ? cam : undefined;
    }, 20_000);
    expect(listed.transcoder).toMatchObject({ state: 'running', warnings: [] });
    expect(listed.transcoder!.fps).toBeGreaterThan(0);
    expect(listed.transcoder!.speed).toBeGreaterThan(0);
    expect(listed.transcoder!.droppedFrames).toBeGreaterThanOrEqual(0);
    expect(listed.transcoder!.lastSegmentAgeSec).toBeGreaterThanOrEqual(0);
    const values = parseMetrics(await (await admin('/metrics', { auth: '' })).text());
    expect(values.get('stagedoor_ffmpeg_fps{stream="live/progress"}')).toBeGreaterThan(0);
    expect(values.get('stagedoor_ffmpeg_speed{stream="live/progress"}')).toBeGreaterThan(0);
    expect(
      values.get('stagedoor_last_segment_age_seconds{stream="live/progress"}'),
    ).toBeGreaterThanOrEqual(0);
    expect(values.get('stagedoor_publish_to_playable_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(
      values.get('stagedoor_received_bytes_total{protocol="rtmp",stream="live/progress"}'),
    ).toBeGreaterThan(0);
    expect(
      values.get(
        'stagedoor_admission_duration_seconds_count{protocol="rtmp",action="publish",outcome="admitted"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      values.get('stagedoor_hls_request_duration_seconds_count{kind="playlist"}'),
    ).toBeGreaterThanOrEqual(1);
  });

  it("serves a live stream's HLS files to an admin credential only, for the dashboard's preview", async () => {
    const path = '/api/v1/streams/live/progress/hls/index.m3u8';
    expect((await admin(path, { auth: '' })).status).toBe(401);
    expect((await admin(path, { auth: await token('live/progress', 'play') })).status).toBe(403);
    const master = await admin(path);
    expect(master.status).toBe(200);
    const text = await master.text();
    expect(text).toContain('#EXTM3U');
    const variant = text.split('\n').find((l) => l.endsWith('.m3u8'))!;
    const media = await (await admin(`/api/v1/streams/live/progress/hls/${variant}`)).text();
    const segment = media.split('\n').find((l) => l.endsWith('.ts'))!;
    const bytes = await admin(`/api/v1/streams/live/progress/hls/${segment}`);
    expect(bytes.status).toBe(200);
    expect(bytes.headers.get('content-type')).toBe('video/mp2t');
    for (const probe of ['..%2F..%2Fetc%2Fpasswd', 'index.txt', '.stagedoor-stream'])
      expect((await admin(`/api/v1/streams/live/progress/hls/${probe}`)).status).toBe(404);
    expect((await admin('/api/v1/streams/..%2F..%2Fetc/x/hls/passwd.ts')).status).toBe(404);
    // Preview media is not a viewer session.
    expect((await sessions('?stream=live/progress&kind=viewer')).length).toBe(0);
  });

  it('passes promtool check metrics on every stagedoor_ family of a scrape with a stream live', async () => {
    // Some traffic of every kind first, so that labelled families have samples.
    await fetch(server.hlsUrl('live/progress', await token('live/progress', 'play')));
    await fetch(server.hlsUrl('live/progress'));
    const text = await (await admin('/metrics', { auth: '' })).text();
    const ours = text
      .split('\n')
      .filter((line) => /^(# (HELP|TYPE) )?stagedoor_/.test(line))
      .join('\n');
    expect(ours).toContain('stagedoor_ffmpeg_fps{stream="live/progress"}');
    const check = spawnSync('promtool', ['check', 'metrics'], {
      input: `${ours}\n`,
      encoding: 'utf8',
    });
    if (check.error)
      throw new Error(`promtool is needed (apt-get install prometheus): ${check.error.message}`);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('lists live streams, and sets, reads and drops a stream’s security', async () => {
    const ws = await openPublisher(
      `ws://127.0.0.1:${server.httpPort}/ws/live/listed?token=${await token('live/listed', 'publish', 300)}`,
    );
    void sendPaced(ws.ws!, flvFile, 20);
    await sleep(1500);
    const { streams } = (await (await admin('/api/v1/streams')).json()) as {
      streams: Array<{
        stream: string;
        publisher: { protocol: string };
        codecs: { video?: string; audio?: string };
        bitrateKbps: number;
        renditions: string[];
      }>;
    };
    const listed = streams.find((s) => s.stream === 'live/listed')!;
    expect(listed).toMatchObject({
      publisher: { protocol: 'ws' },
      codecs: { video: 'h264', audio: 'aac' },
      renditions: ['copy'],
    });
    expect(listed.bitrateKbps).toBeGreaterThan(0);
    ws.ws!.close();

    const put = await admin('/api/v1/streams/lobby/hall/security', {
      method: 'PUT',
      body: JSON.stringify({
        play: 'open',
        publish: 'secured',
        keys: [{ kid: 'hall', alg: 'HS256', secret: 'hall-secret-hall-secret-hall-secret-1' }],
      }),
    });
    expect(put.status).toBe(200);
    const got = (await (await admin('/api/v1/streams/lobby/hall/security')).json()) as Record<
      string,
      unknown
    >;
    expect(got).toMatchObject({
      match: 'lobby/hall',
      source: 'runtime',
      play: 'open',
      keys: [{ kid: 'hall', alg: 'HS256' }],
    });
    expect(JSON.stringify(got)).not.toContain('hall-secret');
    expect(
      (
        await admin('/api/v1/streams/lobby/hall/security', {
          method: 'PUT',
          body: JSON.stringify({ play: 'sometimes' }),
        })
      ).status,
    ).toBe(400);
    expect((await admin('/api/v1/streams/lobby/hall/security', { method: 'DELETE' })).status).toBe(
      200,
    );
    expect((await admin('/api/v1/streams/lobby/hall/security', { method: 'DELETE' })).status).toBe(
      404,
    );
    expect(server.rawLog.join('\n')).not.toContain('hall-secret');
  });

  it('adds, lists and lifts revocations', async () => {
    const created = await admin('/api/v1/revocations', {
      method: 'POST',
      body: JSON.stringify({ type: 'jti', value: 'leaked-1', reason: 'leaked in chat' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const { revocations } = (await (await admin('/api/v1/revocations')).json()) as {
      revocations: Array<{ id: string }>;
    };
    expect(revocations.map((r) => r.id)).toContain(id);
    expect(
      (
        await admin('/api/v1/revocations', {
          method: 'POST',
          body: JSON.stringify({ type: 'email', value: 'x' }),
        })
      ).status,
    ).toBe(400);
    expect((await admin(`/api/v1/revocations/${id}`, { method: 'DELETE' })).status).toBe(204);
    const again = await admin(`/api/v1/revocations/${id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('streams session and refusal events, serves health, readiness and an OpenAPI document', async () => {
    const controller = new AbortController();
    const res = await admin('/api/v1/events', { signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    await fetch(server.hlsUrl('live/events'));
    const deadline = Date.now() + 3000;
    while (!text.includes('event: refusal') && Date.now() < deadline)
      text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toContain('"code":"TOKEN_MISSING"');
    expect(await (await admin('/healthz', { auth: '' })).json()).toEqual({ status: 'ok' });
    const ready = await admin('/readyz', { auth: '' });
    expect(ready.status).toBe(200);
    const openapi = (await (await admin('/api/v1/openapi.json', { auth: '' })).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/sessions',
        '/api/v1/sessions/{id}',
        '/api/v1/streams',
        '/api/v1/streams/{app}/{stream}/security',
        '/api/v1/revocations',
        '/api/v1/events',
      ]),
    );
  });
});
