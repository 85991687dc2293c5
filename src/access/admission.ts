import { StagedoorError, toStagedoorError } from '../errors.js';
import type { Authenticator, TokenReservation } from '../auth/authenticator.js';
import type { Grant } from '../auth/grant.js';
import { cutTokenHint } from '../auth/ingest-keys.js';
import type { Protocol } from '../core/protocol.js';
import { checkStreamPath, type StreamPath } from '../core/stream-path.js';
import type { EndReason } from '../core/end-reasons.js';
import type { StreamHub } from '../media/stream-hub.js';
import type { LiveStream } from '../media/live-stream.js';
import type { StreamLease, StreamLeases } from '../media/stream-leases.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import type { Session } from '../sessions/session.js';
import {
  LocalSessionSlots,
  type SessionSlot,
  type SessionSlots,
} from '../sessions/session-slots.js';
import type { SessionLimit } from '../auth/session-limit.js';
import type { RequestUrl } from '../net/request-url.js';
import type { Audit } from '../observability/audit.js';
import type { Metrics } from '../observability/metrics.js';

/** A malformed token at least this long over RTMP was probably cut at the client's ~1,024-character URL limit. */
const MIN_CUT_TOKEN_LENGTH = 800;

/** Who asks to publish or play, as a protocol server sees it. It never decides; admission does. */
export interface Applicant {
  protocol: Protocol;
  /** `play` and `publish`; the ingest-key exchange is refused as a publish. */
  action: 'publish' | 'play';
  /** App and stream names as the client sent them (checked here). */
  app: unknown;
  name: unknown;
  /** Client address, after trusted-proxy resolution. */
  address: string;
  origin?: string | undefined;
  /** The URL the credentials came on (a CAT's `catu` is matched against it). */
  url?: RequestUrl | undefined;
  /** A protocol's own condition, checked first (WebSocket: `ws.allowedOrigins`); throws its refusal. */
  gate?: () => void;
  /** Reads the client's credentials; a malformed one throws, and is refused and audited like any refusal. */
  credentials: () => { token?: string | undefined; ingestKey?: string | undefined };
  /** Fields of the protocol for the audit line (connection id, preflight …). */
  extra?: Record<string, unknown>;
}

/** What a refusal's audit line names of the applicant. */
export type RefusedApplicant = Pick<
  Applicant,
  'protocol' | 'action' | 'app' | 'name' | 'address' | 'extra'
>;

export interface Admitted {
  stream: StreamPath;
  grant: Grant;
  /** The concurrent-session limit its session opens under (as the authenticator resolved it); none if undefined. */
  limit?: SessionLimit | undefined;
}

/** An admitted client's open session, and for a publisher the stream it now holds. */
export interface Opened {
  session: Session;
  /** The publisher's stream; undefined for a viewer, or when the session ended at once. */
  stream: LiveStream | undefined;
}

export interface AdmissionDeps {
  authenticator: Authenticator;
  audit: Pick<Audit, 'refusal'>;
  hub: Pick<StreamHub, 'assertCanPublish' | 'claim' | 'release'>;
  /** One publisher per stream: this node's leases, or a cluster's. */
  leases: StreamLeases;
  registry: Pick<SessionRegistry, 'open' | 'renew' | 'newId'>;
  /** Concurrent sessions per subject: this node's (the default, in memory), or a cluster's. */
  slots?: SessionSlots | undefined;
  /** Times each decision (stagedoor_admission_duration_seconds). */
  metrics?: Pick<Metrics, 'admissionDuration'> | undefined;
}

/** The client being admitted, as its protocol server tracks it. */
export interface AdmissionClient {
  /** The client left while it was being checked: nothing opens, the lease goes back. */
  gone(): boolean;
  /** The protocol's own teardown, called once when the session ends (at once if already expired). */
  terminate(reason: EndReason): void;
}

/**
 * The one admission path for RTMP, WebSocket and HLS. `check` answers whether a client may go on:
 * stream path, the protocol's gate, credentials, authenticate, and for a publish that the stream is
 * free here (what a preflight asks). `admit` goes all the way: check, the stream's lease, a slot of
 * the subject's when a concurrent-session limit applies, then in one synchronous step a single-use
 * token used up, the session opened and the stream claimed; lease, slot and claim go back when the
 * session ends. Every refusal is audited here, once.
 */
export class Admission {
  readonly #deps: AdmissionDeps;
  readonly #slots: SessionSlots;

  constructor(deps: AdmissionDeps) {
    this.#deps = deps;
    this.#slots = deps.slots ?? new LocalSessionSlots();
  }

  /** Decides whether the applicant may go on; throws the (already audited) refusal. */
  async check(applicant: Applicant): Promise<Admitted> {
    const started = performance.now();
    const timed = (outcome: 'admitted' | 'refused'): void =>
      this.#deps.metrics?.admissionDuration.observe(
        { protocol: applicant.protocol, action: applicant.action, outcome },
        (performance.now() - started) / 1000,
      );
    try {
      const admitted = await this.authorize(applicant);
      timed('admitted');
      return admitted;
    } catch (error) {
      timed('refused');
      throw this.refused(applicant, error, pathOrUndefined(applicant));
    }
  }

  /**
   * The decision of `check` without its audit line and metric, for a caller that audits each of
   * its requests itself (HLS: one playlist or segment request is one decision).
   */
  async authorize(applicant: Applicant): Promise<Admitted> {
    let stream: StreamPath | undefined;
    let token: string | undefined;
    try {
      stream = checkStreamPath(applicant.app, applicant.name);
      applicant.gate?.();
      const credentials = applicant.credentials();
      token = credentials.token;
      const grant = await this.#deps.authenticator.authenticate({
        token: credentials.token,
        ingestKey: credentials.ingestKey,
        action: applicant.action,
        protocol: applicant.protocol,
        stream,
        address: applicant.address,
        origin: applicant.origin,
        url: applicant.url,
      });
      if (applicant.action === 'publish') this.#deps.hub.assertCanPublish(stream);
      // Resolved here, so that a limited token without a subject is refused with the decision.
      const limit = this.#deps.authenticator.sessionLimit(grant, applicant.action, stream);
      return { stream, grant, limit };
    } catch (error) {
      throw withCutTokenHint(applicant, stream, token, error);
    }
  }

  /**
   * Checks a grant admitted earlier against the rules as they are now and this request (revocation,
   * key still trusted, the stream's rule, the token's access rules): an HLS viewer's pass.
   */
  recheck(
    admitted: Admitted,
    applicant: Pick<Applicant, 'protocol' | 'action' | 'address' | 'origin' | 'url'>,
  ): Promise<void> {
    return this.#deps.authenticator.check(admitted.grant, {
      action: applicant.action,
      protocol: applicant.protocol,
      stream: admitted.stream,
      address: applicant.address,
      origin: applicant.origin,
      url: applicant.url,
    });
  }

  /**
   * Opens the session of a viewer authorised already (HLS: its first request, or its pass after it
   * idled out), in one of its subject's slots when a limit applies (under the rules as they are now):
   * the slot is `holder`'s (the viewer, across requests and nodes; else the session's) until the
   * session ends (idle included). Not audited: the caller's request is (SESSION_LIMIT, CLUSTER_UNAVAILABLE when a cluster's slots cannot be reached).
   */
  async openViewer(
    applicant: Pick<Applicant, 'protocol' | 'address'>,
    admitted: Admitted,
    terminate: (reason: EndReason) => void,
    holder?: string,
  ): Promise<Session> {
    const id = this.#deps.registry.newId();
    const limit = this.#deps.authenticator.sessionLimit(admitted.grant, 'play', admitted.stream);
    const slot = await this.#slot('play', limit, holder ?? id);
    const held = { lease: undefined, reservation: undefined, slot, id };
    return this.#open({ ...applicant, action: 'play' }, admitted, held, terminate).session;
  }

  /** One of the subject's slots for `holder` (a session id, or an HLS viewer's), when a limit applies. */
  async #slot(
    action: 'publish' | 'play',
    limit: SessionLimit | undefined,
    holder: string,
  ): Promise<SessionSlot | undefined> {
    return limit ? this.#slots.acquire({ action, limit, holder }) : undefined;
  }

  /** A live session's new token, authenticated for what the session does, then `renew`. */
  async refresh(session: Session, token: string | undefined, origin?: string): Promise<void> {
    const grant = await this.#deps.authenticator.authenticate({
      token,
      action: session.kind === 'publisher' ? 'publish' : 'play',
      protocol: session.protocol,
      stream: session.stream,
      address: session.address,
      origin,
    });
    this.renew(session, grant);
  }

  /**
   * A live session goes on under a new token (a WebSocket refresh message, an HLS player that swapped
   * its Bearer): same subject, a single-use token used up, its expiry re-armed at the new `exp`.
   */
  renew(session: Session, grant: Grant): void {
    if (grant.subject !== session.grant.subject)
      throw new StagedoorError('STREAM_DENIED', 'a refresh token must have the same subject');
    if (session.closed) return;
    this.#deps.authenticator.consume(grant, session.kind === 'publisher' ? 'publish' : 'play');
    this.#deps.registry.renew(session, grant);
  }

  /**
   * Admits a publisher or a player: checked, the stream leased (publish), then its session opened.
   * Undefined when the client left on the way (nothing stays held); throws the audited refusal.
   */
  async admit(applicant: Applicant, client: AdmissionClient): Promise<Opened | undefined> {
    const admitted = await this.check(applicant);
    const id = this.#deps.registry.newId();
    let lease: StreamLease | undefined;
    let reservation: TokenReservation | undefined;
    let slot: SessionSlot | undefined;
    try {
      if (applicant.action === 'publish') lease = await this.#deps.leases.acquire(admitted.stream);
      reservation = await this.#deps.authenticator.reserve(admitted.grant, applicant.action);
      // Last before opening, and not for a client gone already: a `replace-oldest` limit cuts the
      // subject's oldest session here.
      if (!client.gone()) slot = await this.#slot(applicant.action, admitted.limit, id);
    } catch (error) {
      lease?.release();
      reservation?.release();
      throw this.refused(applicant, error, admitted.stream);
    }
    if (client.gone()) {
      lease?.release();
      reservation?.release();
      slot?.release();
      return undefined;
    }
    try {
      return this.#open(applicant, admitted, { lease, reservation, slot, id }, client.terminate);
    } catch (error) {
      throw this.refused(applicant, error, admitted.stream);
    }
  }

  /**
   * In one synchronous step: the stream still free here, a single-use token used up (now, not
   * before), the session opened (as `held.id`, the id its slot names), and a publisher made the
   * stream's own until its session ends, whatever ends it; lease and slot go back then.
   */
  #open(
    applicant: Pick<Applicant, 'protocol' | 'action' | 'address'>,
    admitted: Admitted,
    held: {
      lease: StreamLease | undefined;
      reservation: TokenReservation | undefined;
      slot: SessionSlot | undefined;
      id: string;
    },
    terminate: (reason: EndReason) => void,
  ): Opened {
    const { lease, reservation, slot } = held;
    const { hub, registry, authenticator } = this.#deps;
    const publish = applicant.action === 'publish';
    let stream: LiveStream | undefined;
    let session: Session | undefined;
    try {
      if (publish) hub.assertCanPublish(admitted.stream);
      authenticator.consume(admitted.grant, applicant.action);
      session = registry.open(
        {
          kind: publish ? 'publisher' : 'viewer',
          protocol: applicant.protocol,
          stream: admitted.stream,
          grant: admitted.grant,
          address: applicant.address,
          terminate: (reason) => {
            if (stream && session) hub.release(stream, session);
            lease?.release();
            slot?.release();
            terminate(reason);
          },
        },
        held.id,
      );
      if (publish && !session.closed) stream = hub.claim(admitted.stream, session);
      const opened = session;
      // Another node took the stream (a takeover, or this node's lease lapsed): stop publishing here.
      lease?.onLost(() => opened.close('taken-over'));
      // A newer session of the subject took this one's slot (`replace-oldest`), here or on another node.
      slot?.onReplaced(() => opened.close('limit-replaced'));
      return { session, stream };
    } catch (error) {
      lease?.release();
      reservation?.release();
      slot?.release();
      session?.close('error');
      throw error;
    }
  }

  /**
   * Audits a refusal (log line, metric, live event) and returns it as a coded error; also for
   * refusals decided outside `check` (an HLS pass, the ingest-key exchange).
   */
  refused(applicant: RefusedApplicant, error: unknown, stream?: StreamPath): StagedoorError {
    const coded = toStagedoorError(error);
    this.#deps.audit.refusal({
      protocol: applicant.protocol,
      action: applicant.action,
      stream: stream ?? {
        app: String(applicant.app).slice(0, 64),
        name: String(applicant.name).slice(0, 64),
      },
      address: applicant.address,
      error: coded,
      ...(applicant.extra ? { extra: applicant.extra } : {}),
    });
    return coded;
  }
}

/** The applicant's stream path if it is a valid one (what a refusal's audit line names). */
function pathOrUndefined(applicant: Applicant): StreamPath | undefined {
  try {
    return checkStreamPath(applicant.app, applicant.name);
  } catch {
    return undefined;
  }
}

/** RTMP clients cut URLs at about 1,024 characters: a malformed long token was probably cut. */
function withCutTokenHint(
  applicant: Applicant,
  stream: StreamPath | undefined,
  token: string | undefined,
  error: unknown,
): unknown {
  const cut =
    applicant.protocol === 'rtmp' &&
    stream !== undefined &&
    token !== undefined &&
    token.length >= MIN_CUT_TOKEN_LENGTH &&
    toStagedoorError(error).code === 'TOKEN_MALFORMED';
  return cut
    ? new StagedoorError('TOKEN_MALFORMED', cutTokenHint(stream, token.length), { cause: error })
    : error;
}
