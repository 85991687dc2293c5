import { randomBytes } from 'node:crypto';
import { StagedoorError } from '../errors.js';
import type { Grant } from '../auth/grant.js';
import { formatStreamPath, type StreamPath } from '../core/stream-path.js';
import type { Admission } from '../access/admission.js';
import type { Session } from '../sessions/session.js';
import { refusalAfter } from '../core/end-reasons.js';
import type { PlaylistPasses } from './pass/playlist-pass.js';
import type { SegmentPasses } from './pass/segment-pass.js';
import { streamDirInUrl, type MediaKind } from '../core/media-layout.js';
import type { RequestUrl } from '../net/request-url.js';
import type { CdnTokenWriter } from './pass/cdn/cdn-token.js';
import { cdnSetCookie, type CdnCookie } from './pass/cdn/cdn-cookie.js';

/** One HLS viewer: a token (or open access) at an address watching a stream, across requests. */
interface Viewer {
  id: string;
  /** token identity | address | stream: changes when the viewer refreshes its token. */
  key: string;
  stream: StreamPath;
  address: string;
  grant: Grant;
  /** The token it was admitted with (sealed into its playlist pass); undefined on an open stream. */
  token: string | undefined;
  session: Session | undefined;
  lastSeen: number;
  /** Set when the session ended for a reason that must refuse the viewer's later requests. */
  refusedWith: StagedoorError | undefined;
  /** Forgotten after this instant. */
  until: number;
  /** The viewer's playlist pass: fixed for its grant, so sealed once. */
  pass: string;
  /** Its current segment pass, re-signed when half its life is gone. */
  segmentPass: string;
  /** The CDN's token for the same window (`hls.passes.cdn`), signed with it; '' without a CDN format. */
  cdnToken: string;
  /** The CDN's signed cookies for the same window (a writer in cookie mode); none otherwise. */
  cdnCookies: readonly CdnCookie[];
  segmentPassUntil: number;
  /** Requests it holds open (blocking reloads, preload hints): cut at once when it is. */
  held: Set<AbortController>;
  /** Its session being opened (admission is asynchronous): concurrent requests wait for the one. */
  opening: Promise<Session> | undefined;
}

/** A request held open until its part exists: aborted with the viewer's refusal when it is cut. */
export interface HeldRequest {
  signal: AbortSignal;
  release(): void;
}

/** A viewer's passes, as they go into the playlists it is served. */
export interface ViewerPasses {
  /** On variant playlist and key URIs: the origin checks the viewer (or, unknown, its token) again. */
  playlist: string;
  /** On segment, init and part URIs: short-lived, verifiable alone by an edge. */
  segment: string;
  /** A CDN's own token for the same window, put beside `segment` (query parameters); '' if none. */
  cdn: string;
  /** A CDN's signed cookies for the same window, set with the playlist (Set-Cookie values). */
  cookies?: readonly string[] | undefined;
}

export interface HlsAdmission {
  /** The viewer's session; undefined for a segment served on a valid pass of a viewer unknown here. */
  session: Session | undefined;
  passes: ViewerPasses;
  /** Holds this request open; RATE_LIMITED when the viewer holds `maxHeldPerViewer` already. */
  hold(): HeldRequest;
}

export interface HlsViewersDeps {
  /** Decides, opens and renews viewers' sessions, as for every protocol (HLS audits per request). */
  admission: Pick<Admission, 'authorize' | 'recheck' | 'openViewer' | 'renew'>;
  playlistPasses: PlaylistPasses;
  segmentPasses: SegmentPasses;
  /** Writes a CDN's token for each segment pass window (`hls.passes.cdn`); none by default. */
  cdnTokens?: CdnTokenWriter | undefined;
}

export interface HlsViewersOptions {
  idleMs: number;
  /** How long a segment pass lives (at most to the token's exp). */
  segmentPassMs: number;
  maxViewers?: number;
  /** Requests one viewer may hold open at once (blocking reloads, preload hints). */
  maxHeldPerViewer?: number;
  now?: () => number;
}

/**
 * HLS has no connection to cut, so a viewer is a session kept alive by its requests: identified
 * by token identity, address and stream, ended after `idleMs` without a request, and checked on
 * every playlist, segment and key request that reaches this node. After expiry, a kick or a
 * revocation its next request is refused. Its passes outlive this process: a playlist pass seals
 * the viewer's token, so this node after a restart (or another node with the same keys) takes the
 * viewer back by checking that token again; a segment pass is short-lived and verifiable alone.
 */
const NO_PASSES: ViewerPasses = { playlist: '', segment: '', cdn: '' };

/** A request served on a pass alone: held until its own time-out; no viewer here to cut it. */
function unboundHold(): HeldRequest {
  return { signal: new AbortController().signal, release: () => {} };
}

export class HlsViewers {
  readonly #byId = new Map<string, Viewer>();
  readonly #byKey = new Map<string, Viewer>();
  readonly #byPass = new Map<string, Viewer>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(
    private readonly deps: HlsViewersDeps,
    private readonly options: HlsViewersOptions,
  ) {
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
    kind: MediaKind;
    address: string;
    pass: string | undefined;
    token: string | undefined;
    origin?: string | undefined;
    /** The request's URL (a CAT's `catu` is matched against it). */
    url?: RequestUrl | undefined;
  }): Promise<HlsAdmission> {
    const now = this.#now();
    const streamKey = formatStreamPath(request.stream);
    if (request.pass !== undefined && request.token === undefined) {
      const found = await this.#viewerOnPass(request, streamKey, now);
      if (!found) return { session: undefined, passes: NO_PASSES, hold: unboundHold };
      const { viewer, checked } = found;
      if (viewer.refusedWith) throw viewer.refusedWith;
      // A pass is only a shorthand for its token: answered as the token would be now (revocation,
      // key still trusted, the stream's current rule, the token's access rules for this request),
      // unless the token was authenticated for this very request (a viewer taken back).
      if (!checked)
        await this.deps.admission.recheck(
          { stream: request.stream, grant: viewer.grant },
          {
            protocol: 'hls',
            action: 'play',
            address: request.address,
            origin: request.origin,
            url: request.url,
          },
        );
      return this.#continue(viewer, this.#now());
    }
    const grant = await this.#authenticate(request, request.token);
    const key = `${grant.tokenId}|${request.address}|${streamKey}`;
    const refreshed =
      request.pass === undefined
        ? undefined
        : this.#refreshTarget(request.pass, request.stream, request.address, grant, now);
    if (refreshed) return this.#refresh(refreshed, grant, request.token, key, streamKey, now);
    const known = this.#byKey.get(key);
    // Presenting the token again after a kick starts afresh, as reconnecting does over RTMP.
    if (known && !known.refusedWith) {
      known.grant = grant;
      return this.#continue(known, now);
    }
    if (known) this.#forget(known);
    const viewer = this.#add(randomBytes(12).toString('base64url'), request, grant, key, now);
    viewer.token = request.token;
    this.#grantTo(viewer, grant, streamKey, now);
    this.#byPass.set(viewer.pass, viewer);
    return this.#continue(viewer, now);
  }

  /**
   * The viewer a pass names. A segment pass names one this node knows, or (for a segment, while
   * the pass is unexpired) none: the segment is served on the pass alone, as an edge would. A
   * playlist pass names a known viewer, or one taken back from the token sealed in it.
   */
  async #viewerOnPass(
    request: Parameters<HlsViewers['admit']>[0],
    streamKey: string,
    now: number,
  ): Promise<{ viewer: Viewer; checked: boolean } | undefined> {
    const unknown = () =>
      new StagedoorError(
        'SESSION_ENDED',
        'the viewer pass is invalid or unknown; open the playlist again with a token',
      );
    const pass = request.pass!;
    const segment = this.deps.segmentPasses.verify(pass, streamDirInUrl(request.stream));
    if (segment) {
      const viewer = this.#byId.get(segment.viewerId); // its MAC binds it to this stream's directory
      if (viewer) return { viewer, checked: false };
      if (request.kind === 'segment' && segment.expiresAt > now) return undefined;
      throw unknown();
    }
    const known = this.#byPass.get(pass);
    if (known && known.key.endsWith(`|${streamKey}`)) return { viewer: known, checked: false };
    const sealed = this.deps.playlistPasses.open(pass, streamKey, now);
    if (!sealed) throw unknown();
    const viewer = this.#byId.get(sealed.viewerId);
    if (viewer) return { viewer, checked: false }; // an older pass of a viewer since refreshed
    // A viewer of another process (before a restart, another node): its token, checked again now.
    const grant = await this.#authenticate(request, sealed.token);
    const key = `${grant.tokenId}|${request.address}|${streamKey}`;
    const revived =
      this.#byId.get(sealed.viewerId) ?? this.#add(sealed.viewerId, request, grant, key, now);
    revived.token = sealed.token;
    this.#grantTo(revived, grant, streamKey, now, pass);
    this.#byPass.set(pass, revived);
    return { viewer: revived, checked: true };
  }

  async #authenticate(
    request: Parameters<HlsViewers['admit']>[0],
    token: string | undefined,
  ): Promise<Grant> {
    const admitted = await this.deps.admission.authorize({
      protocol: 'hls',
      action: 'play',
      app: request.stream.app,
      name: request.stream.name,
      address: request.address,
      origin: request.origin,
      url: request.url,
      credentials: () => ({ token }),
    });
    return admitted.grant;
  }

  #add(
    id: string,
    request: { stream: StreamPath; address: string },
    grant: Grant,
    key: string,
    now: number,
  ): Viewer {
    const viewer: Viewer = {
      id,
      key,
      stream: request.stream,
      address: request.address,
      grant,
      token: undefined,
      session: undefined,
      lastSeen: now,
      refusedWith: undefined,
      until: 0,
      pass: '',
      segmentPass: '',
      cdnToken: '',
      cdnCookies: [],
      segmentPassUntil: 0,
      held: new Set(),
      opening: undefined,
    };
    this.#byId.set(viewer.id, viewer);
    this.#byKey.set(key, viewer);
    this.#evictIfFull();
    return viewer;
  }

  /**
   * A request that carries a live viewer's pass and a new token for the same subject refreshes
   * that viewer: the player swapped tokens (e.g. hls.js `xhrSetup` adding a new Bearer) without
   * reloading. A viewer already cut (expired, kicked, revoked) is not revived: it starts afresh.
   */
  #refreshTarget(
    value: string,
    stream: StreamPath,
    address: string,
    grant: Grant,
    now: number,
  ): Viewer | undefined {
    const streamKey = formatStreamPath(stream);
    const viewerId =
      this.deps.segmentPasses.verify(value, streamDirInUrl(stream))?.viewerId ??
      this.deps.playlistPasses.open(value, streamKey, now)?.viewerId;
    const viewer = viewerId === undefined ? undefined : this.#byId.get(viewerId);
    if (
      !viewer ||
      !viewer.key.endsWith(`|${streamKey}`) ||
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
    token: string | undefined,
    key: string,
    streamKey: string,
    now: number,
  ): Promise<HlsAdmission> {
    const stale = this.#byKey.get(key);
    if (stale && stale !== viewer) this.#forget(stale);
    if (this.#byKey.get(viewer.key) === viewer) this.#byKey.delete(viewer.key);
    viewer.key = key;
    viewer.token = token;
    this.#byPass.delete(viewer.pass);
    this.#grantTo(viewer, grant, streamKey, now);
    this.#byPass.set(viewer.pass, viewer);
    this.#byKey.set(key, viewer);
    const session = viewer.session;
    if (session && !session.closed) this.deps.admission.renew(session, grant);
    return this.#continue(viewer, now);
  }

  /**
   * Puts a viewer under a grant: how long it is remembered, and its playlist pass sealed once for
   * that time (or `pass`, the one it came back with), its segment pass re-signed.
   */
  #grantTo(viewer: Viewer, grant: Grant, streamKey: string, now: number, pass?: string): void {
    viewer.grant = grant;
    viewer.until = grant.expiresAt ?? now + 24 * 3600_000;
    // The pass outlives the token a little so that a late request is told TOKEN_EXPIRED, not "unknown".
    viewer.pass =
      pass ??
      this.deps.playlistPasses.seal(
        { viewerId: viewer.id, expiresAt: viewer.until + this.options.idleMs, token: viewer.token },
        streamKey,
      );
    viewer.segmentPassUntil = 0;
  }

  /** The viewer's segment pass: short-lived, never past its token's exp, re-signed at half-life. */
  #segmentPass(viewer: Viewer, now: number): string {
    const life = this.options.segmentPassMs;
    if (viewer.segmentPassUntil - now > life / 2) return viewer.segmentPass;
    const until = Math.min(now + life, viewer.grant.expiresAt ?? Infinity);
    const dir = streamDirInUrl(viewer.stream);
    viewer.segmentPass = this.deps.segmentPasses.sign(viewer.id, until, dir);
    // The CDN's token for the same window: signed once here, put on every URI until the next.
    const window = {
      dir,
      expiresAt: until,
      viewerId: viewer.id,
      address: viewer.address,
      segmentPass: viewer.segmentPass,
    };
    viewer.cdnToken = this.deps.cdnTokens?.sign(window) ?? '';
    viewer.cdnCookies = this.deps.cdnTokens?.cookies?.(window) ?? [];
    viewer.segmentPassUntil = until;
    return viewer.segmentPass;
  }

  async #continue(viewer: Viewer, now: number): Promise<HlsAdmission> {
    if (viewer.refusedWith) throw viewer.refusedWith;
    if (viewer.grant.expiresAt !== undefined && viewer.grant.expiresAt <= now) {
      viewer.session?.close('expired');
      throw new StagedoorError('TOKEN_EXPIRED');
    }
    viewer.lastSeen = now;
    const session = await this.#sessionOf(viewer);
    if (session.closed) throw viewer.refusedWith ?? new StagedoorError('TOKEN_EXPIRED');
    return {
      session,
      passes: {
        playlist: viewer.pass,
        segment: this.#segmentPass(viewer, now),
        cdn: viewer.cdnToken,
        // Max-Age is the rest of the window at this response, not at signing.
        cookies: viewer.cdnCookies.map((cookie) =>
          cdnSetCookie(cookie, (viewer.segmentPassUntil - now) / 1000),
        ),
      },
      hold: () => this.#hold(viewer),
    };
  }

  #hold(viewer: Viewer): HeldRequest {
    if (viewer.refusedWith) throw viewer.refusedWith;
    const max = this.options.maxHeldPerViewer ?? 8;
    if (viewer.held.size >= max)
      throw new StagedoorError(
        'RATE_LIMITED',
        `a viewer may hold ${max} blocking requests at once`,
        { retryAfterSec: 1 },
      );
    const controller = new AbortController();
    viewer.held.add(controller);
    return { signal: controller.signal, release: () => viewer.held.delete(controller) };
  }

  /** The viewer's live session: opened through admission on its first request, or after it idled out. */
  async #sessionOf(viewer: Viewer): Promise<Session> {
    if (viewer.session && !viewer.session.closed) return viewer.session;
    viewer.opening ??= this.#open(viewer).finally(() => {
      viewer.opening = undefined;
    });
    return viewer.opening;
  }

  async #open(viewer: Viewer): Promise<Session> {
    const admitted = { stream: viewer.stream, grant: viewer.grant };
    const applicant = { protocol: 'hls', address: viewer.address } as const;
    // An end that forbids playing (expired, revoked, kicked …) refuses the viewer's later requests;
    // others, like idle, let its pass open a new session.
    const session = await this.deps.admission.openViewer(
      applicant,
      admitted,
      (reason) => {
        viewer.refusedWith = refusalAfter(reason);
        // A held request is answered with the refusal now, not when its part arrives. Stagedoor
        // stopping is no refusal: the player asks again (the next process takes it back).
        const refusal =
          reason === 'shutdown'
            ? new StagedoorError('HLS_WAIT_TIMEOUT', 'the server is restarting; ask again')
            : viewer.refusedWith;
        if (refusal) for (const held of viewer.held) held.abort(refusal);
      },
      `hls:${viewer.id}`, // its slot, if limited: one per viewer, whichever node serves it
    );
    viewer.session = session;
    return session;
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

  /** Forgets a viewer, and ends its session if it still has one (that session must not live on unseen, slot and all). */
  #forget(viewer: Viewer): void {
    if (viewer.session && !viewer.session.closed) viewer.session.close('idle');
    this.#byId.delete(viewer.id);
    if (this.#byPass.get(viewer.pass) === viewer) this.#byPass.delete(viewer.pass);
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
