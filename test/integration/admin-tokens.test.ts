// Issue #15 (1, 10, 16): a viewer or publisher token is never an admin token, and admin tokens are
// held to the same checks as every other token. Driven over the admin API's real HTTP port.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_KEY, startServer, testConfig, type TestServer } from '../helpers/server.js';
import { nowSec, sign } from '../helpers/tokens.js';

let server: TestServer;
// The default config's dev key allows publish, play and admin, as the test helper's `hs` key does.
const hs = { kid: 'hs' };

beforeAll(async () => {
  server = await startServer(
    testConfig(undefined, {
      http: { host: '127.0.0.1', port: 0, playerEmbedOrigins: ['https://embed.example'] },
    }),
  );
});
afterAll(async () => {
  await server.stop();
});

const adminUrl = (path: string) => `http://127.0.0.1:${server.adminPort}${path}`;

async function call(
  method: string,
  path: string,
  credential: string,
  body?: unknown,
): Promise<{ status: number; code: string | undefined }> {
  const res = await fetch(adminUrl(path), {
    method,
    headers: {
      authorization: `Bearer ${credential}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5000),
  });
  // An admitted event stream never ends: only its status matters.
  const streaming = res.status === 200 && path === '/api/v1/events';
  const text = streaming ? '' : await res.text();
  if (streaming) await res.body?.cancel().catch(() => {});
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code };
}

/** Every admin route, from the server's own OpenAPI description, with a concrete path and body. */
async function everyAdminRoute(): Promise<Array<{ method: string; path: string; body?: unknown }>> {
  const spec = (await (await fetch(adminUrl('/api/v1/openapi.json'))).json()) as {
    paths: Record<string, Record<string, { security?: unknown }>>;
  };
  const routes: Array<{ method: string; path: string; body?: unknown }> = [];
  for (const [template, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!op.security) continue; // public: health, metrics, the dashboard page
      const path = template
        .replace('{id}', 's_unknown')
        .replace('{app}', 'live')
        .replace('{stream}', 'cam1');
      const body =
        method === 'post'
          ? { type: 'sub', value: 'someone' }
          : method === 'put' || method === 'patch'
            ? { play: 'open' }
            : undefined;
      routes.push({ method: method.toUpperCase(), path, body });
    }
  }
  return routes;
}

describe('admin tokens', () => {
  it('refuses 403 SCOPE_DENIED on every admin route to tokens without the exact scope admin, whatever the key allows', async () => {
    const exp = nowSec() + 300;
    const notAdmin = {
      'the README publish-and-play token ({sub, exp})': await sign({ sub: 'live/cam1', exp }, hs),
      'a THEOlive-style token ({exp})': await sign({ exp }, hs),
      'admin with a stream suffix': await sign(
        { sub: 'live/cam1', scope: 'admin:live/cam1', exp },
        hs,
      ),
      'play and publish scopes': await sign({ scope: 'play publish', exp }, hs),
      'admin as a scp array entry with a suffix': await sign({ scp: ['admin:*'], exp }, hs),
    };
    const routes = await everyAdminRoute();
    expect(routes.length).toBeGreaterThanOrEqual(10);
    for (const [name, token] of Object.entries(notAdmin)) {
      for (const route of routes) {
        const answer = await call(route.method, route.path, token, route.body);
        expect({ name, route: `${route.method} ${route.path}`, ...answer }).toEqual({
          name,
          route: `${route.method} ${route.path}`,
          status: 403,
          code: 'SCOPE_DENIED',
        });
      }
    }
    // Nothing was changed by the refused calls.
    expect((await call('GET', '/api/v1/revocations', ADMIN_API_KEY)).status).toBe(200);
    const revocations = (await (
      await fetch(adminUrl('/api/v1/revocations'), {
        headers: { authorization: `Bearer ${ADMIN_API_KEY}` },
      })
    ).json()) as { revocations: unknown[] };
    expect(revocations.revocations).toEqual([]);
    const security = (await (
      await fetch(adminUrl('/api/v1/streams/live/cam1/security'), {
        headers: { authorization: `Bearer ${ADMIN_API_KEY}` },
      })
    ).json()) as { source: string; play: string };
    expect(security).toMatchObject({ source: 'default', play: 'secured' });
  });

  it('admits the explicit scope admin, and the same token plays nothing', async () => {
    const admin = await sign({ sub: 'ops', scope: 'admin', exp: nowSec() + 300 }, hs);
    expect((await call('GET', '/api/v1/sessions', admin)).status).toBe(200);
    const hls = await fetch(server.hlsUrl('live/cam1', admin));
    expect(hls.status).toBe(403);
    expect(((await hls.json()) as { error: { code: string } }).error.code).toBe('SCOPE_DENIED');
  });

  it('holds admin tokens to their access rules and to the lifetime cap, as every other token', async () => {
    const elsewhere = await sign(
      {
        sub: 'ops',
        scope: 'admin',
        exp: nowSec() + 300,
        access: { allow: { ips: ['203.0.113.7'] } },
      },
      hs,
    );
    expect(await call('GET', '/api/v1/sessions', elsewhere)).toEqual({
      status: 403,
      code: 'IP_DENIED',
    });
    const here = await sign(
      {
        sub: 'ops',
        scope: 'admin',
        exp: nowSec() + 300,
        access: { allow: { ips: ['127.0.0.1'] } },
      },
      hs,
    );
    expect((await call('GET', '/api/v1/sessions', here)).status).toBe(200);
    const fiveYears = await sign(
      { sub: 'ops', scope: 'admin', exp: nowSec() + 5 * 365 * 86_400 },
      hs,
    );
    expect(await call('GET', '/api/v1/sessions', fiveYears)).toEqual({
      status: 401,
      code: 'CLAIM_INVALID',
    });
    const revoked = await sign({ sub: 'ops-revoked', scope: 'admin', exp: nowSec() + 300 }, hs);
    expect(
      (
        await call('POST', '/api/v1/revocations', ADMIN_API_KEY, {
          type: 'sub',
          value: 'ops-revoked',
        })
      ).status,
    ).toBe(201);
    expect(await call('GET', '/api/v1/sessions', revoked)).toEqual({
      status: 401,
      code: 'TOKEN_REVOKED',
    });
  });
});

describe('framing', () => {
  it('never lets another site frame the dashboard or the publisher page; the player only where configured', async () => {
    const dashboard = await fetch(adminUrl('/'));
    expect(dashboard.headers.get('x-frame-options')).toBe('DENY');
    expect(dashboard.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const publisher = await fetch(`http://127.0.0.1:${server.httpPort}/publish.html`);
    expect(publisher.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(publisher.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    const player = await fetch(`http://127.0.0.1:${server.httpPort}/player.html`);
    expect(player.headers.get('content-security-policy')).toContain(
      "frame-ancestors 'self' https://embed.example",
    );
  });
});
