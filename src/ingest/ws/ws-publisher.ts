import type { WebSocket, RawData } from 'ws';
import { StagedoorError, toStagedoorError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { Admission } from '../../access/admission.js';
import type { Session } from '../../sessions/session.js';
import type { EndReason } from '../../core/end-reasons.js';
import type { LiveStream } from '../../media/live-stream.js';
import type { AVPacket } from '../../formats/flv/nms.js';
import { unitFromFlv } from '../../formats/flv/flv-demux.js';
import { FlvReader } from '../../formats/flv/flv-reader.js';
import {
  SNIFF_BYTES,
  detectContainer,
  sniffTracks,
  type ContainerFormat,
} from '../../formats/container-sniff.js';
import { closeFrameFor } from '../../core/end-reasons.js';

export interface WsPublisherDeps {
  /** Renews the session on a refresh message's token (the same subject). */
  admission: Pick<Admission, 'refresh'>;
  log: Logger;
  limits: { maxBufferedBytes: number; maxAheadMs: number; maxTagBytes: number };
}

const MAX_CONTROL_BYTES = 16 * 1024;
/**
 * A Matroska or MP4 header (EBML, Segment info and Tracks; ftyp and moov) is a few KiB. Its first
 * bytes may come in several messages — MediaRecorder's first chunk can be a single byte — so they are
 * gathered up to this much before the stream is judged.
 */
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * One admitted WebSocket publisher. FLV bytes become units in the stream hub, like RTMP;
 * WebM/Matroska and fragmented MP4 bytes go through the hub to the raw sink of the stream's output
 * (its FFmpeg). Reading stops while the output catches up; a client that stays ahead is closed (`INGEST_TOO_FAST`), never buffered
 * without bound. The session ends with a close code naming why (4401 TOKEN_EXPIRED …).
 */
export class WsPublisher {
  readonly session: Session;
  readonly #ws: WebSocket;
  readonly #deps: WsPublisherDeps;
  readonly #stream: LiveStream;
  readonly #formatHint: string | undefined;
  readonly #origin: string | undefined;
  #format: ContainerFormat | undefined;
  #flv: FlvReader | undefined;
  #rawStarted = false;
  #rawPending: Buffer[] = [];
  /** Bytes received before the container and its tracks are known. */
  #head: Buffer = Buffer.alloc(0);
  #rawPendingBytes = 0;
  #firstDts: number | undefined;
  #firstWall = 0;
  #closeFrame: { code: number; reason: string } | undefined;
  #log: Logger;

  /**
   * `init.session` is the publisher's open session (admission opened it and holds `init.stream`
   * for it); whoever opened it calls `end` when the session ends.
   */
  constructor(
    ws: WebSocket,
    init: {
      session: Session;
      stream: LiveStream;
      origin: string | undefined;
      formatHint: string | undefined;
    },
    deps: WsPublisherDeps,
  ) {
    this.#ws = ws;
    this.#deps = deps;
    this.session = init.session;
    this.#stream = init.stream;
    this.#origin = init.origin;
    this.#formatHint = init.formatHint;
    this.#log = this.session.log;
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on('close', () => this.session.close('client-closed'));
    ws.on('error', (error) => this.#log.debug({ err: error }, 'websocket error'));
    this.#send({ type: 'admitted', sessionId: this.session.id, expiresAt: this.#expiresAtIso() });
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.session.closed) return;
    const chunk = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    if (!isBinary) {
      void this.#onControl(chunk);
      return;
    }
    this.session.bytesIn += chunk.length;
    try {
      let bytes = chunk;
      if (!this.#format) {
        bytes = this.#head = Buffer.concat([this.#head, chunk]);
        if (!this.#start(bytes)) return; // not enough of the header yet
        this.#head = Buffer.alloc(0);
      }
      if (this.#format === 'flv') this.#flv!.push(bytes);
      else this.#writeRaw(bytes);
    } catch (error) {
      const coded = toStagedoorError(error, 'PROTOCOL_ERROR');
      this.#log.warn(
        { event: 'protocol_error', code: coded.code, reason: coded.message },
        'websocket publisher sent bad media',
      );
      this.#closeFrame = { code: 4400, reason: `${coded.code}: ${coded.message}`.slice(0, 120) };
      this.session.close('protocol-error');
    }
  }

  /** Starts the stream once its head shows the container (and tracks); false while more bytes are needed. */
  #start(head: Buffer): boolean {
    const format = detectContainer(head, this.#formatHint);
    if (!format && !this.#formatHint && head.length < SNIFF_BYTES) return false;
    if (!format)
      throw new StagedoorError(
        'PROTOCOL_ERROR',
        this.#formatHint ? `unknown format "${this.#formatHint}"` : 'not FLV, WebM/Matroska or MP4',
      );
    const tracks = format === 'flv' ? undefined : sniffTracks(format, head);
    if (format !== 'flv' && !tracks) {
      if (head.length < MAX_HEADER_BYTES) return false;
      throw new StagedoorError(
        'PROTOCOL_ERROR',
        `the container header names no video track in its first ${MAX_HEADER_BYTES / 1024} KiB`,
      );
    }
    this.#format = format;
    this.#log.info({ event: 'ws_ingest_format', format }, 'websocket publisher container detected');
    if (format === 'flv') {
      this.#flv = new FlvReader(this.#deps.limits.maxTagBytes, (packet) =>
        this.#onFlvPacket(packet),
      );
      return true;
    }
    const stream = this.#stream;
    if (!stream.acceptsRaw)
      throw new StagedoorError(
        'PROTOCOL_ERROR',
        'no output takes WebM/MP4 here (HLS is disabled): only FLV can be published over WebSocket',
      );
    stream
      .startRaw({
        format,
        tracks: tracks!,
        maxBufferedBytes: this.#deps.limits.maxBufferedBytes,
        onFailure: (why) => {
          this.#log.error(
            { event: 'transcoder_failed', reason: why },
            'ffmpeg failed on the websocket stream',
          );
          this.session.close('error');
        },
      })
      .then(() => {
        this.#rawStarted = true;
        const pending = this.#rawPending;
        this.#rawPending = [];
        this.#rawPendingBytes = 0;
        for (const chunk of pending) this.#writeRaw(chunk);
      })
      .catch((error: unknown) => {
        this.#log.error({ err: error }, 'cannot start ffmpeg for the websocket stream');
        this.session.close('error');
      });
    return true;
  }

  #onFlvPacket(av: AVPacket): void {
    const unit = unitFromFlv(av);
    if (!unit) return;
    if (unit.kind === 'access-unit') this.#checkPace(unit.dts);
    if (!this.session.closed) this.#stream.write(unit);
  }

  /** Live media cannot run ahead of the clock: a client far ahead is flooding, not streaming. */
  #checkPace(dts: number): void {
    const now = Date.now();
    if (this.#firstDts === undefined) {
      this.#firstDts = dts;
      this.#firstWall = now;
      return;
    }
    const ahead = dts - this.#firstDts - (now - this.#firstWall);
    if (ahead > this.#deps.limits.maxAheadMs) {
      this.#log.warn(
        { event: 'ingest_too_fast', aheadMs: ahead },
        'websocket publisher is sending faster than real time',
      );
      this.session.close('too-fast');
    }
  }

  #writeRaw(chunk: Buffer): void {
    if (!this.#rawStarted) {
      this.#rawPendingBytes += chunk.length;
      if (this.#rawPendingBytes > this.#deps.limits.maxBufferedBytes)
        this.session.close('too-fast');
      else this.#rawPending.push(chunk);
      return;
    }
    const result = this.#stream.writeRaw(chunk);
    if (result === 'overflow') {
      this.#log.warn(
        { event: 'ingest_too_fast', limit: this.#deps.limits.maxBufferedBytes },
        'websocket publisher outran ffmpeg past its buffer cap',
      );
      this.session.close('too-fast');
    } else if (result === 'backpressure' && !this.#ws.isPaused) {
      // Stop reading: TCP flow control pushes back on the client while FFmpeg catches up. A live
      // source cannot keep FFmpeg busy that long: one that does is flooding, and is cut.
      this.#ws.pause();
      const stall = setTimeout(() => {
        this.#log.warn(
          { event: 'ingest_too_fast', stalledMs: this.#deps.limits.maxAheadMs },
          'ffmpeg stayed behind the websocket publisher',
        );
        this.session.close('too-fast');
      }, this.#deps.limits.maxAheadMs);
      stall.unref();
      this.#stream.onceRawDrained(() => {
        clearTimeout(stall);
        if (!this.session.closed) this.#ws.resume();
      });
    }
  }

  /** Text messages: `{"type":"refresh","token":"…"}` extends the session without reconnecting. */
  async #onControl(chunk: Buffer): Promise<void> {
    let message: { type?: unknown; token?: unknown };
    try {
      if (chunk.length > MAX_CONTROL_BYTES) throw new Error('too large');
      message = JSON.parse(chunk.toString('utf8')) as typeof message;
    } catch {
      this.#send({
        type: 'error',
        code: 'PROTOCOL_ERROR',
        message: 'control messages are JSON objects of at most 16 KiB',
      });
      return;
    }
    if (message.type !== 'refresh') {
      this.#send({
        type: 'error',
        code: 'PROTOCOL_ERROR',
        message: `unknown control message type ${String(message.type)}`,
      });
      return;
    }
    try {
      const token = typeof message.token === 'string' ? message.token : undefined;
      await this.#deps.admission.refresh(this.session, token, this.#origin);
      if (this.session.closed) return;
      this.#send({ type: 'refreshed', expiresAt: this.#expiresAtIso() });
    } catch (error) {
      const coded = toStagedoorError(error);
      this.#log.warn(
        { event: 'refresh_refused', code: coded.code, reason: coded.message },
        'token refresh refused',
      );
      this.#closeFrame = { code: coded.wsCloseCode, reason: coded.code };
      this.session.close('refresh-refused');
    }
  }

  /** The session ended (expired, kicked, refused refresh, client gone …): close the socket saying why. */
  end(reason: EndReason): void {
    const ws = this.#ws;
    if (ws.readyState === ws.CLOSED) return;
    const frame = this.#closeFrame ?? closeFrameFor(reason);
    if (reason === 'client-closed') {
      ws.terminate();
      return;
    }
    ws.close(frame.code, frame.reason);
    // A client that does not answer the close frame is cut anyway.
    setTimeout(() => ws.terminate(), 1000).unref();
  }

  #send(message: Record<string, unknown>): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(JSON.stringify(message));
  }

  #expiresAtIso(): string | undefined {
    const at = this.session.expiresAt;
    return at === undefined ? undefined : new Date(at).toISOString();
  }
}
