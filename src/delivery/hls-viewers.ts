import { randomBytes } from 'node:crypto';
import { StagedoorError } from '../errors.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Grant } from '../auth/grant.js';
import { formatStreamPath, type StreamPath } from '../core/stream-path.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import type { Session } from '../sessions/session.js';
import { refusalAfter } from '../core/end-reasons.js';
import { ViewerPassSigner } from './viewer-pass.js';

/** One HLS viewer: a token (or open access) at an address watching a stream, across requests. */
interface Viewer {
  id: string;
  /** token identity | address | stream: changes when the viewer refreshes its token. */
  key: string;
  stream: StreamPath;
  address: string;
  grant: Grant;
  session: Session | undefined;
  lastSeen: number;
  /** Set when the session ended for a reason that must refuse the viewer's later requests. */
  refusedWith: StagedoorError | undefined;
  /** Forgotten after this instant. */
  until: number;
  /** The viewer's `vs` value: fixed for its lifetime, so signed once. */
  pass: string;
}

export interface HlsAdmission {
  session: Session;
  /** The `vs` value to rewrite into playlists for this viewer. */
  pass: string;
}

export interface HlsViewersOptions {
  idleMs: number;
  maxViewers?: number;
  now?: () => number;
}

/**
 * HLS has no connection to cut, so a viewer is a session kept alive by its requests: identified
 * by token identity, address and stream, ended after `idleMs` without a request, and checked on
 * every playlist, segment and key request. After expiry, a kick or a revocation its next request
 * is refused.
 */
export class HlsViewers {
  readonly #byId = new Map<string, Viewer>();
  readonly #byKey = new Map<string, Viewer>();
  readonly #passes: ViewerPassSigner;
  readonly #sweeper: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(
    private readonly deps: { authenticator: Authenticator; registry: SessionRegistry },
    private readonly options: HlsViewersOptions,
  ) {
    this.#passes = new ViewerPassSigner();
    this.#now = options.now ?? Date.now;
    this.#sweeper = setInterval(
      () => this.sweep(),
      Math.min(5000, Math.max(100, options.idleMs / 2)),
    );
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#byId.size;
  }

  /** Admits one request: with a pass from a rewritten playlist, or with a token (or none on open streams). */
  async admit(request: {
    stream: StreamPath;
    address: string;
    pass: string | undefined;
    token: string | undefined;
    origin?: string | undefined;
  }): Promise<HlsAdmission> {
    const now = this.#now();
    const streamKey = formatStreamPath(request.stream);
    if (request.pass !== undefined && request.token === undefined) {
      const pass = this.#passes.verify(request.pass, streamKey, now);
      const viewer = pass ? this.#byId.get(pass.viewerId) : undefined;
      if (!pass || !viewer)
        throw new StagedoorError(
          'SESSION_ENDED',
          'the viewer pass is invalid or unknown; open the playlist again with a token',
        );
      if (viewer.refusedWith) throw viewer.refusedWith;
      // A pass is only a shorthand for its token: answered as the token would be now (revocation,
      // key still trusted, the stream's current rule, the token's access rules for this request).
      await this.deps.authenticator.check(viewer.grant, {
        action: 'play',
        protocol: 'hls',
        stream: request.stream,
        address: request.address,
        origin: request.origin,
      });
      return this.#continue(viewer, this.#now());
    }
    const grant = await this.deps.authenticator.authenticate({
      token: request.token,
      action: 'play',
      protocol: 'hls',
      stream: request.stream,
      address: request.address,
      origin: request.origin,
    });
    const key = `${grant.tokenId}|${request.address}|${streamKey}`;
    const refreshed =
      request.pass === undefined
        ? undefined
        : this.#refreshTarget(request.pass, streamKey, request.address, grant, now);
    if (refreshed) return this.#refresh(refreshed, grant, key, streamKey, now);
    const known = this.#byKey.get(key);
    // Presenting the token again after a kick starts afresh, as reconnecting does over RTMP.
    if (known && !known.refusedWith) {
      known.grant = grant;
      return this.#continue(known, now);
    }
    const viewer: Viewer = {
      id: randomBytes(12).toString('base64url'),
      key,
      stream: request.stream,
      address: request.address,
      grant,
      session: undefined,
      lastSeen: now,
      refusedWith: undefined,
      until: 0,
      pass: '',
    };
    this.#grantTo(viewer, grant, streamKey, now);
    if (known) this.#forget(known);
    this.#byId.set(viewer.id, viewer);
    this.#byKey.set(key, viewer);
    this.#evictIfFull();
    return this.#continue(viewer, now);
  }

  /**
   * A request that carries a live viewer's pass and a new token for the same subject refreshes
   * that viewer: the player swapped tokens (e.g. hls.js `xhrSetup` adding a new Bearer) without
   * reloading. A viewer already cut (expired, kicked, revoked) is not revived: it starts afresh.
   */
  #refreshTarget(
    value: string,
    streamKey: string,
    address: string,
    grant: Grant,
    now: number,
  ): Viewer | undefined {
    const pass = this.#passes.verify(value, streamKey, now);
    const viewer = pass ? this.#byId.get(pass.viewerId) : undefined;
    if (
      !viewer ||
      viewer.refusedWith ||
      viewer.address !== address ||
      viewer.grant.tokenId === grant.tokenId
    )
      return undefined;
    if (viewer.grant.subject !== grant.subject) return undefined;
    if (viewer.grant.expiresAt !== undefined && viewer.grant.expiresAt <= now) return undefined;
    return viewer;
  }

  /** The same viewer and session go on under the new token: new expiry, new pass, new key. */
  #refresh(
    viewer: Viewer,
    grant: Grant,
    key: string,
    streamKey: string,
    now: number,
  ): HlsAdmission {
    const stale = this.#byKey.get(key);
    if (stale && stale !== viewer) this.#forget(stale);
    if (this.#byKey.get(viewer.key) === viewer) this.#byKey.delete(viewer.key);
    viewer.key = key;
    this.#grantTo(viewer, grant, streamKey, now);
    this.#byKey.set(key, viewer);
    const session = viewer.session;
    if (session && !session.closed) this.deps.registry.renew(session, grant);
    return this.#continue(viewer, now);
  }

  /** Puts a viewer under a grant: how long it is remembered, and the pass signed once for that time. */
  #grantTo(viewer: Viewer, grant: Grant, streamKey: string, now: number): void {
    viewer.grant = grant;
    viewer.until = grant.expiresAt ?? now + 24 * 3600_000;
    // The pass outlives the token a little so that a late request is told TOKEN_EXPIRED, not "unknown".
    viewer.pass = this.#passes.sign({
      viewerId: viewer.id,
      expiresAt: viewer.until + this.options.idleMs,
      stream: streamKey,
    });
  }

  #continue(viewer: Viewer, now: number): HlsAdmission {
    if (viewer.refusedWith) throw viewer.refusedWith;
    if (viewer.grant.expiresAt !== undefined && viewer.grant.expiresAt <= now) {
      viewer.session?.close('expired');
      throw new StagedoorError('TOKEN_EXPIRED');
    }
    viewer.lastSeen = now;
    if (!viewer.session || viewer.session.closed) viewer.session = this.#open(viewer);
    if (viewer.session.closed) throw viewer.refusedWith ?? new StagedoorError('TOKEN_EXPIRED');
    return { session: viewer.session, pass: viewer.pass };
  }

  #open(viewer: Viewer): Session {
    return this.deps.registry.open({
      kind: 'viewer',
      protocol: 'hls',
      stream: viewer.stream,
      grant: viewer.grant,
      address: viewer.address,
      // An end that forbids playing (expired, revoked, kicked …) refuses the viewer's later requests;
      // others, like idle, let its pass open a new session.
      terminate: (reason) => {
        viewer.refusedWith = refusalAfter(reason);
      },
    });
  }

  /** Ends sessions idle for longer than `idleMs` and forgets viewers whose token has expired. */
  sweep(): void {
    const now = this.#now();
    for (const viewer of [...this.#byId.values()]) {
      if (viewer.session && !viewer.session.closed && now - viewer.lastSeen > this.options.idleMs)
        viewer.session.close('idle');
      if (viewer.until + this.options.idleMs < now) this.#forget(viewer);
    }
  }

  close(): void {
    clearInterval(this.#sweeper);
  }

  #forget(viewer: Viewer): void {
    this.#byId.delete(viewer.id);
    if (this.#byKey.get(viewer.key) === viewer) this.#byKey.delete(viewer.key);
  }

  #evictIfFull(): void {
    const max = this.options.maxViewers ?? 100_000;
    while (this.#byId.size > max) {
      const oldest = this.#byId.values().next().value as Viewer;
      oldest.session?.close('idle');
      this.#forget(oldest);
    }
  }
}
