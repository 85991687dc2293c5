import type { Socket } from 'node:net';
import { StagedoorError, rtmpStatusCode, toStagedoorError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { Admission, Applicant, Opened } from '../../access/admission.js';
import type { Session } from '../../sessions/session.js';
import type { EndReason } from '../../core/end-reasons.js';
import type { StreamHub } from '../../media/stream-hub.js';
import type { LiveStream, MediaSink } from '../../media/live-stream.js';
import type { MediaUnit } from '../../media/media-unit.js';
import type { AVPacket } from '../../formats/flv/nms.js';
import { unitFromFlv } from '../../formats/flv/flv-demux.js';
import { rtmpMessage } from './rtmp-message.js';
import { RtmpProtocol, type StreamRequest } from './rtmp-protocol.js';
import { clientCredentials } from '../../auth/extract-token.js';
import { normalizeAddress } from '../../net/address.js';

export interface RtmpConnectionDeps {
  admission: Admission;
  hub: Pick<StreamHub, 'attach' | 'detach'>;
  log: Logger;
  limits: {
    maxMessageBytes: number;
    maxViewerBufferBytes: number;
    admissionTimeoutMs: number;
  };
}

/**
 * Until a publish is admitted a client may send only commands: small messages on a handful of chunk
 * streams. Upstream allocates whatever length a header declares, so without this an anonymous client
 * could reserve 64 × 8 MiB before any token is looked at. Tokens of about 1 KiB (what RTMP clients
 * can send) fit with room to spare.
 */
export const PRE_ADMISSION_LIMITS = { maxMessageBytes: 16 * 1024, maxChunkStreams: 8 } as const;
const PUBLISHER_CHUNK_STREAMS = 64;

type State = 'connecting' | 'authorizing' | 'publishing' | 'playing' | 'closed';

/**
 * One RTMP TCP connection. It owns the socket: nothing reaches the stream hub until the
 * authenticator has admitted the publish, a refused or expired client's socket is destroyed
 * (never half-closed), and a player can only receive.
 */
export class RtmpConnection implements MediaSink {
  readonly id: string;
  readonly #socket: Socket;
  readonly #protocol: RtmpProtocol;
  readonly #deps: RtmpConnectionDeps;
  readonly #address: string;
  #log: Logger;
  #state: State = 'connecting';
  #session: Session | undefined;
  #stream: LiveStream | undefined;
  #admissionTimer: NodeJS.Timeout | undefined;
  #droppedPackets = 0;
  readonly #onAdmissionDone: () => void;

  /** `onAdmissionDone` is called once, when the client is admitted or gone, whichever comes first. */
  constructor(
    socket: Socket,
    id: string,
    deps: RtmpConnectionDeps,
    onAdmissionDone: () => void = () => {},
  ) {
    this.id = id;
    this.#onAdmissionDone = once(onAdmissionDone);
    this.#socket = socket;
    this.#deps = deps;
    this.#address = normalizeAddress(socket.remoteAddress);
    this.#log = deps.log.child({ connectionId: id, protocol: 'rtmp', address: this.#address });
    this.#protocol = new RtmpProtocol(PRE_ADMISSION_LIMITS);
    this.#protocol.onOutputCallback = (buffer) => this.#write(buffer);
    this.#protocol.onPacketCallback = (packet) => this.#onPacket(packet);
    this.#protocol.onStreamRequest = (request) => this.#onStreamRequest(request);
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.#onData(data));
    socket.on('error', (error) => this.#log.debug({ err: error }, 'rtmp socket error'));
    socket.on('close', () => this.#onSocketClose());
    this.#admissionTimer = setTimeout(
      () => this.#abort('admission timeout'),
      deps.limits.admissionTimeoutMs,
    );
    this.#admissionTimer.unref();
  }

  get state(): State {
    return this.#state;
  }

  /** Closes the connection for server reasons (shutdown before admission). */
  destroy(): void {
    if (this.#session) this.#session.close('shutdown');
    else this.#teardown();
  }

  // --- MediaSink: this connection as a player of a stream ---

  deliver(unit: MediaUnit): void {
    if (this.#state !== 'playing' || !this.#session) return;
    const message = rtmpMessage(unit);
    this.#session.bytesOut += message.length;
    this.#socket.write(message);
    if (this.#socket.writableLength > this.#deps.limits.maxViewerBufferBytes)
      this.#session.close('slow-consumer');
  }

  end(reason: EndReason): void {
    this.#session?.close(reason);
  }

  // --- socket input ---

  #onData(data: Buffer): void {
    if (this.#state === 'closed') return;
    if (this.#session) this.#session.bytesIn += data.length;
    try {
      const error = this.#protocol.parserData(data);
      if (error) throw new StagedoorError('PROTOCOL_ERROR', String(error));
    } catch (error) {
      this.#protocolError(error);
    }
  }

  #onPacket(av: AVPacket): void {
    if (this.#state !== 'publishing' || !this.#stream) {
      // Not an admitted publisher (a player, or a client still being checked): its media goes nowhere.
      if (this.#droppedPackets++ === 0)
        this.#log.warn(
          { event: 'media_dropped', state: this.#state },
          'media from a client that is not an admitted publisher was dropped',
        );
      return;
    }
    const unit = unitFromFlv(av);
    if (unit) this.#stream.write(unit);
  }

  #onStreamRequest(request: StreamRequest): void {
    if (this.#state !== 'connecting')
      throw new StagedoorError('PROTOCOL_ERROR', 'one publish or play per connection');
    this.#state = 'authorizing';
    this.#socket.pause();
    void this.#admit(request);
  }

  async #admit(request: StreamRequest): Promise<void> {
    const { action } = request;
    const applicant: Applicant = {
      protocol: 'rtmp',
      action,
      app: request.app,
      name: request.name,
      address: this.#address,
      url: request.url,
      credentials: () => clientCredentials(request.query),
      extra: { connectionId: this.id },
    };
    let opened: Opened | undefined;
    try {
      opened = await this.#deps.admission.admit(applicant, {
        gone: () => this.#state !== 'authorizing', // the client left while we were checking
        terminate: (reason) => this.#onSessionEnd(reason),
      });
      if (!opened) return;
    } catch (error) {
      this.#refuse(action, error as StagedoorError); // refused and audited by admission
      return;
    }
    const { session } = opened;
    if (session.closed) return; // already past its expiry
    try {
      this.#session = session;
      this.#log = session.log.child({ connectionId: this.id });
      this.#clearAdmissionTimer();
      this.#onAdmissionDone();
      if (action === 'publish') {
        this.#stream = opened.stream;
        this.#state = 'publishing';
        this.#protocol.setLimits({
          maxMessageBytes: this.#deps.limits.maxMessageBytes,
          maxChunkStreams: PUBLISHER_CHUNK_STREAMS,
        });
        this.#protocol.acceptPublish();
      } else {
        this.#state = 'playing';
        this.#protocol.acceptPlay();
        this.#stream = this.#deps.hub.attach(session.stream, this);
      }
      this.#socket.resume();
    } catch (error) {
      this.#log.error({ err: error }, 'rtmp session could not start');
      session.close('error');
    }
  }

  #refuse(action: 'publish' | 'play', error: StagedoorError): void {
    if (error.code === 'INTERNAL_ERROR')
      this.#log.error({ err: error.cause }, 'admission failed unexpectedly');
    if (this.#state === 'closed') return;
    this.#protocol.refuse(
      action,
      rtmpStatusCode(action, error.code),
      `${error.code}: ${error.message}`,
    );
    this.#teardown();
  }

  #protocolError(cause: unknown): void {
    const error = toStagedoorError(cause, 'PROTOCOL_ERROR');
    this.#log.warn(
      { event: 'protocol_error', code: error.code, reason: error.message, state: this.#state },
      'rtmp protocol error, dropping connection',
    );
    if (this.#session) this.#session.close('protocol-error');
    else this.#teardown();
  }

  #abort(why: string): void {
    if (this.#state === 'closed' || this.#session) return;
    this.#log.info(
      { event: 'admission_timeout', reason: why },
      'rtmp client did not publish or play in time',
    );
    this.#teardown();
  }

  // --- teardown: every path ends here exactly once ---

  /** The registry closed our session (expired, kicked, shutdown, publisher gone …). */
  #onSessionEnd(_reason: EndReason): void {
    this.#teardown();
  }

  #onSocketClose(): void {
    if (this.#session && !this.#session.closed) this.#session.close('client-closed');
    else this.#teardown();
  }

  #teardown(): void {
    if (this.#state === 'closed') {
      return;
    }
    const wasPlaying = this.#state === 'playing';
    this.#state = 'closed';
    this.#clearAdmissionTimer();
    this.#onAdmissionDone();
    // A publisher's stream is released by admission when its session ends; a player detaches.
    if (wasPlaying && this.#stream) this.#deps.hub.detach(this.#stream, this.id);
    // Flush what is queued (a refusal's onStatus) and then destroy: never a half-open socket.
    const socket = this.#socket;
    if (socket.destroyed) return;
    if (socket.writableLength === 0) {
      socket.destroy();
      return;
    }
    const force = setTimeout(() => socket.destroy(), 250);
    force.unref();
    socket.write(Buffer.alloc(0), () => {
      clearTimeout(force);
      socket.destroy();
    });
  }

  #write(buffer: Buffer): void {
    if (this.#state === 'closed' || this.#socket.destroyed) return;
    this.#socket.write(buffer);
  }

  #clearAdmissionTimer(): void {
    if (this.#admissionTimer) clearTimeout(this.#admissionTimer);
    this.#admissionTimer = undefined;
  }
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}
