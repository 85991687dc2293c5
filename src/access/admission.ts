import { StagedoorError, toStagedoorError } from '../errors.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Grant } from '../auth/grant.js';
import { cutTokenHint } from '../auth/ingest-keys.js';
import type { Protocol } from '../core/protocol.js';
import { checkStreamPath, type StreamPath } from '../core/stream-path.js';
import type { StreamHub } from '../media/stream-hub.js';
import type { Audit } from '../observability/audit.js';

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
}

export interface AdmissionDeps {
  authenticator: Authenticator;
  audit: Pick<Audit, 'refusal'>;
  hub: Pick<StreamHub, 'assertCanPublish'>;
}

/**
 * The one admission path for RTMP, WebSocket and HLS: stream path, credentials, authenticate, and
 * for a publish that the stream is free; then, right before the session opens, the stream checked
 * again and a single-use token used up. Every refusal is audited here, once, with its code.
 */
export class Admission {
  readonly #deps: AdmissionDeps;

  constructor(deps: AdmissionDeps) {
    this.#deps = deps;
  }

  /** Decides whether the applicant may go on; throws the (already audited) refusal. */
  async check(applicant: Applicant): Promise<Admitted> {
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
      });
      if (applicant.action === 'publish') this.#deps.hub.assertCanPublish(stream);
      return { stream, grant };
    } catch (error) {
      throw this.refused(applicant, withCutTokenHint(applicant, stream, token, error), stream);
    }
  }

  /**
   * Synchronously with opening the session: the stream must still be free (another publisher may
   * have come while the token was checked), and a single-use token is used up now, not before.
   */
  claim(applicant: Applicant, admitted: Admitted): void {
    try {
      if (applicant.action === 'publish') this.#deps.hub.assertCanPublish(admitted.stream);
      this.#deps.authenticator.consume(admitted.grant, applicant.action);
    } catch (error) {
      throw this.refused(applicant, error, admitted.stream);
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
