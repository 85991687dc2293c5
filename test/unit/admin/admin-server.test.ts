// The admin API reads a SessionDirectory port, not the registry: any implementation plugs in from
// the wiring (a cluster-wide one later). Driven through fastify's inject(), without a socket.
import { DiskMediaSource } from '../../../src/delivery/media-source.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildAdminServer } from '../../../src/admin/admin-server.js';
import { AdminAuth } from '../../../src/admin/admin-auth.js';
import { Audit } from '../../../src/observability/audit.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';
import { IssuerStore } from '../../../src/auth/oidc/issuer-store.js';
import { StreamHub } from '../../../src/media/stream-hub.js';
import {
  FileStreamRuleStore,
  StreamSecurity,
  type SavedStreamRule,
} from '../../../src/auth/stream-security.js';
import { KeyStore } from '../../../src/auth/key-store.js';
import {
  FileRevocationStore,
  RevocationList,
  type Revocation,
} from '../../../src/auth/revocations.js';
import { JsonStateFile } from '../../../src/state/json-state-file.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { Listing, SessionDirectory } from '../../../src/sessions/session-directory.js';
import { StagedoorError } from '../../../src/errors.js';
import type { StreamView } from '../../../src/admin/views/stream-views.js';
import type { SessionSnapshot } from '../../../src/sessions/session.js';
import type { Authenticator } from '../../../src/auth/authenticator.js';

const log = pino({ level: 'silent' });
const KEY = 'admin-api-key-for-the-unit-test-0123';

const snapshot = (id: string, stream: string, kind: 'publisher' | 'viewer'): SessionSnapshot => ({
  id,
  node: 'node-b',
  kind,
  protocol: 'rtmp',
  stream,
  subject: `${id}-subject`,
  scopes: [],
  jti: undefined,
  kid: undefined,
  issuer: undefined,
  address: '198.51.100.1',
  startedAt: '2026-11-29T00:00:00.000Z',
  expiresAt: undefined,
  bytesIn: 0,
  bytesOut: 0,
});

/** An in-memory directory, as a cluster's would answer for sessions on other nodes. */
class FakeDirectory implements SessionDirectory<StreamView> {
  readonly kicked: string[] = [];
  readonly #sessions = new Map([
    ['s_remote1', snapshot('s_remote1', 'live/elsewhere', 'publisher')],
    ['s_remote2', snapshot('s_remote2', 'live/elsewhere', 'viewer')],
  ]);
  readonly #nodes = [
    { node: 'node-a', self: true, reachable: true, sessions: 0 },
    { node: 'node-b', self: false, reachable: true, sessions: 2 },
  ];
  async list(): Promise<Listing<SessionSnapshot>> {
    return { items: [...this.#sessions.values()], nodes: this.#nodes };
  }
  async get(id: string): Promise<SessionSnapshot | undefined> {
    if (id === 's_x@node-c') throw new StagedoorError('NODE_UNREACHABLE');
    return this.#sessions.get(id);
  }
  async kick(id: string): Promise<SessionSnapshot | undefined> {
    if (id === 's_x@node-c') throw new StagedoorError('NODE_UNREACHABLE');
    this.kicked.push(id);
    const found = this.#sessions.get(id);
    this.#sessions.delete(id);
    return found;
  }
  async streams(): Promise<Listing<StreamView>> {
    return { items: [], nodes: this.#nodes };
  }
}

async function adminWith(directory: SessionDirectory<StreamView>) {
  const registry = new SessionRegistry(log);
  const issuers = new IssuerStore([], log);
  const metrics = new Metrics({ registry, issuers, outputs: undefined });
  const refuseTokens: Authenticator = {
    authenticate: () => Promise.reject(new Error('no tokens in this test')),
    check: () => Promise.resolve(),
    reserve: () => Promise.resolve(undefined),
    consume: () => {},
    sessionLimit: () => undefined,
  };
  const stateDir = mkdtempSync(join(tmpdir(), 'sd-admin-unit-'));
  const audit = new Audit(log, registry, metrics);
  return buildAdminServer({
    log,
    auth: new AdminAuth([{ name: 'ops', key: KEY }], refuseTokens),
    audit,
    events: audit,
    metrics,
    directory,
    revocations: await RevocationList.create(
      new FileRevocationStore(new JsonStateFile<Revocation[]>(join(stateDir, 'r.json'), log), log),
      log,
    ),
    hub: new StreamHub({ publisherTakeover: false, gopCacheBytes: 0 }),
    outputs: undefined,
    source: new DiskMediaSource(stateDir),
    security: await StreamSecurity.create(
      [],
      new KeyStore([]),
      new FileStreamRuleStore(
        new JsonStateFile<SavedStreamRule[]>(join(stateDir, 's.json'), log),
        log,
      ),
      log,
    ),
    issuers,
    hls: parseConfig({}).hls,
    ready: () => true,
  });
}

describe('admin API over a session directory port', () => {
  it('lists, shows and kicks through whatever directory the wiring gives it', async () => {
    const directory = new FakeDirectory();
    const admin = await adminWith(directory);
    const auth = { authorization: `Bearer ${KEY}` };
    const listed = await admin.inject({
      method: 'GET',
      url: '/api/v1/sessions?kind=viewer',
      headers: auth,
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().sessions.map((s: SessionSnapshot) => s.id)).toEqual(['s_remote2']);
    expect(listed.json().nodes.map((n: { node: string }) => n.node)).toEqual(['node-a', 'node-b']);
    // A session of a node that does not answer: 503 NODE_UNREACHABLE, for a look and for a kick.
    for (const method of ['GET', 'DELETE'] as const) {
      const silent = await admin.inject({
        method,
        url: '/api/v1/sessions/s_x@node-c',
        headers: auth,
      });
      expect(silent.statusCode).toBe(503);
      expect(silent.json().error.code).toBe('NODE_UNREACHABLE');
    }
    expect(
      (
        await admin.inject({ method: 'GET', url: '/api/v1/sessions/s_remote1', headers: auth })
      ).json(),
    ).toMatchObject({ id: 's_remote1', stream: 'live/elsewhere' });
    const kicked = await admin.inject({
      method: 'DELETE',
      url: '/api/v1/sessions/s_remote1',
      headers: auth,
    });
    expect(kicked.statusCode).toBe(200);
    expect(directory.kicked).toEqual(['s_remote1']);
    expect(
      (await admin.inject({ method: 'DELETE', url: '/api/v1/sessions/s_remote1', headers: auth }))
        .statusCode,
    ).toBe(404);
    expect((await admin.inject({ method: 'GET', url: '/api/v1/sessions' })).statusCode).toBe(401);
    await admin.close();
  });
});
