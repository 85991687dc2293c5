// Issue #26 (4): a request the admin API or the public port cannot take says which field is wrong,
// with REQUEST_INVALID (or REQUEST_TOO_LARGE); PROTOCOL_ERROR stays for clients that break RTMP or
// the WebSocket framing. Revocations take a duration (`for`) beside a time (`until`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { sleep } from '../helpers/ffmpeg.js';
import { nowSec, sign } from '../helpers/tokens.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer(testConfig());
});
afterAll(async () => {
  await server.stop();
});

interface Answer {
  status: number;
  code: string | undefined;
  message: string | undefined;
}

async function call(
  port: number,
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<Answer & { json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_API_KEY}`,
      ...(body === undefined ? {} : { 'content-type': contentType }),
    },
    ...(body === undefined ? {} : { body }),
  });
  const json = (await res.json()) as Record<string, unknown> & {
    error?: { code: string; message: string };
  };
  return { status: res.status, code: json.error?.code, message: json.error?.message, json };
}
const admin = (method: string, path: string, body?: unknown, contentType?: string) =>
  call(
    server.adminPort,
    method,
    path,
    body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
    contentType,
  );
const answer = ({ status, code, message }: Answer): Answer => ({ status, code, message });

describe('input errors name the field', () => {
  it('admin API: bad JSON, the wrong content type, schema violations in body, query and path are 400 REQUEST_INVALID naming the field', async () => {
    const iso = 'must be an ISO 8601 time with a zone, such as 2026-12-01T00:00:00Z';
    const cases: Array<[string, string, unknown, string | undefined, string]> = [
      ['POST', '/api/v1/revocations', '{"type":"jti",', undefined, 'body: is not valid JSON'],
      [
        'POST',
        '/api/v1/revocations',
        '',
        undefined,
        'body: is empty, but content-type says it is JSON',
      ],
      [
        'POST',
        '/api/v1/revocations',
        'type=jti&value=x',
        'application/x-www-form-urlencoded',
        'content-type "application/x-www-form-urlencoded" is not accepted: send JSON with content-type: application/json',
      ],
      [
        'POST',
        '/api/v1/revocations',
        { type: 'email', value: 'x' },
        undefined,
        'body.type: must be one of "jti", "sub"',
      ],
      ['POST', '/api/v1/revocations', { type: 'jti' }, undefined, 'body.value: is required'],
      [
        'POST',
        '/api/v1/revocations',
        { type: 'jti', value: 'x', colour: 'red' },
        undefined,
        'body.colour: is not a field of this request',
      ],
      [
        'POST',
        '/api/v1/revocations',
        { type: 'jti', value: 'x', until: 'tomorrow' },
        undefined,
        `body.until: ${iso}`,
      ],
      [
        'PUT',
        '/api/v1/streams/live/cam/security',
        { play: 'sometimes' },
        undefined,
        'body.play: must be one of "secured", "open"',
      ],
      [
        'PUT',
        '/api/v1/streams/live/cam/security',
        { keys: [{ kid: 'k' }] },
        undefined,
        'body.keys[0].alg: is required',
      ],
      [
        'GET',
        '/api/v1/sessions?kind=ghost',
        undefined,
        undefined,
        'query.kind: must be one of "publisher", "viewer"',
      ],
      [
        'GET',
        '/api/v1/streams/live/bad%20name/security',
        undefined,
        undefined,
        'params.stream: must match pattern "^[A-Za-z0-9_-]{1,128}$"',
      ],
    ];
    for (const [method, path, body, contentType, message] of cases)
      expect(answer(await admin(method, path, body, contentType)), `${method} ${path}`).toEqual({
        status: 400,
        code: 'REQUEST_INVALID',
        message,
      });
    expect((await admin('GET', '/api/v1/revocations')).json.revocations).toEqual([]);
  });

  it('admin API: a body over the limit is 413 REQUEST_TOO_LARGE, saying the limit', async () => {
    const big = JSON.stringify({ type: 'jti', value: 'x', reason: 'r'.repeat(300 * 1024) });
    expect(answer(await admin('POST', '/api/v1/revocations', big))).toEqual({
      status: 413,
      code: 'REQUEST_TOO_LARGE',
      message: `body: larger than the ${256 * 1024} bytes this server takes`,
    });
  });

  it('public port: a body that is not JSON, a path that does not decode or is too long are 400 REQUEST_INVALID too', async () => {
    const invalid = (message: string) => ({ status: 400, code: 'REQUEST_INVALID', message });
    expect(answer(await call(server.httpPort, 'POST', '/ingest-keys/live/cam', '{'))).toEqual(
      invalid('body: is not valid JSON'),
    );
    expect(answer(await call(server.httpPort, 'GET', '/live/%E0%A4%A/index.m3u8'))).toEqual(
      invalid('path: a %-escape in it does not decode'),
    );
    expect(
      answer(await call(server.httpPort, 'GET', `/live/${'a'.repeat(300)}/index.m3u8`)),
    ).toEqual(invalid('path: a part of it is longer than this server takes'));
    // The admin port routes the same way.
    expect(
      answer(await call(server.adminPort, 'GET', '/api/v1/streams/live/%zz/security')),
    ).toEqual(invalid('path: a %-escape in it does not decode'));
  });
});

describe('revocations for a while', () => {
  it('"for": 30s, 15m, 24h, 7d end that long after now; "for" with "until", an unknown unit or more than 366d are refused', async () => {
    for (const [duration, ms] of [
      ['30s', 30_000],
      ['15m', 900_000],
      ['24h', 86_400_000],
      ['7d', 7 * 86_400_000],
    ] as const) {
      const created = await admin('POST', '/api/v1/revocations', {
        type: 'sub',
        value: `for-${duration}`,
        for: duration,
      });
      expect(created.status, duration).toBe(201);
      const { until, createdAt } = created.json as { until: string; createdAt: string };
      expect(Date.parse(until) - Date.parse(createdAt), duration).toBe(ms);
    }
    const refusals: Array<[Record<string, unknown>, string]> = [
      [
        { for: '1h', until: new Date(Date.now() + 3600_000).toISOString() },
        'for, until: give one of them (for: a duration such as 24h; until: an ISO time)',
      ],
      [
        { for: '2 weeks' },
        'for: "2 weeks" is not a positive duration: use a whole number and s, m, h or d (30s, 15m, 24h, 7d)',
      ],
      [{ for: '400d' }, 'for: at most 366d, the longest a revocation lasts'],
      [{ for: 3600 }, 'body.for: must be string'],
    ];
    for (const [extra, message] of refusals)
      expect(
        answer(await admin('POST', '/api/v1/revocations', { type: 'sub', value: 'no', ...extra })),
      ).toEqual({ status: 400, code: 'REQUEST_INVALID', message });
    const listed = (await admin('GET', '/api/v1/revocations')).json.revocations as Array<{
      value: string;
    }>;
    expect(listed.map((r) => r.value).sort()).toEqual(['for-15m', 'for-24h', 'for-30s', 'for-7d']);
  });

  it('a token revoked "for": "1s" is refused, then admitted again once the second has passed', async () => {
    const jti = `short-${Date.now()}`;
    const jwt = await sign(
      { sub: 'live/gone', scope: 'play', jti, exp: nowSec() + 60 },
      { kid: 'hs' },
    );
    const play = async () => {
      const res = await fetch(server.hlsUrl('live/gone', jwt));
      return {
        status: res.status,
        code: ((await res.json()) as { error: { code: string } }).error.code,
      };
    };
    expect((await play()).code).not.toBe('TOKEN_REVOKED');
    const before = await play();
    expect(
      (await admin('POST', '/api/v1/revocations', { type: 'jti', value: jti, for: '1s' })).status,
    ).toBe(201);
    expect(await play()).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    await sleep(1200);
    expect(await play()).toEqual(before);
  });
});
