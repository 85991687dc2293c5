// A hand-driven RTMP client for the tests that real clients cannot express: sending media
// before being admitted, sending media as a player, writing after a refusal, broken commands.
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

const require = createRequire(import.meta.url);
const Rtmp = require('node-media-server/src/protocol/rtmp.js');
const AMF = require('node-media-server/src/protocol/amf.js');

export interface StatusMessage {
  level: string;
  code: string;
  description: string;
}

/** An H.264 key frame and an AAC frame as FLV tag bodies: enough to count as media. */
export const FAKE_VIDEO_KEYFRAME = Buffer.concat([
  Buffer.from([0x17, 0x01, 0, 0, 0]),
  randomBytes(200),
]);
export const FAKE_AUDIO_FRAME = Buffer.concat([Buffer.from([0xaf, 0x01]), randomBytes(50)]);

export class RawRtmpClient {
  readonly socket: Socket;
  readonly statuses: StatusMessage[] = [];
  /** Audio and video messages received from the server. */
  mediaReceived = 0;
  readonly closed: Promise<{ at: number; error: NodeJS.ErrnoException | undefined }>;
  #parser = new Rtmp();
  #handshakeBuffer = Buffer.alloc(0);
  #handshakeDone: Promise<void>;
  #streamId = 1;

  private constructor(socket: Socket) {
    this.socket = socket;
    let lastError: NodeJS.ErrnoException | undefined;
    socket.on('error', (e: NodeJS.ErrnoException) => (lastError = e));
    this.closed = new Promise((resolve) =>
      socket.on('close', () => resolve({ at: Date.now(), error: lastError })),
    );
    // The server-side parser reads S0+S1 as if they were C0+C1 and S2 as C2, then plain chunks:
    // exactly what a client needs to read. Whatever it wants to send back is discarded.
    this.#parser.onOutputCallback = () => {};
    this.#parser.onPacketCallback = (packet: { codec_type: number }) => {
      if (packet.codec_type === 8 || packet.codec_type === 9) this.mediaReceived++;
    };
    this.#parser.invokeHandler = function (this: typeof Rtmp) {
      const payload = this.parserPacket.payload.subarray(0, this.parserPacket.header.length);
      const message = AMF.decodeAmf0Cmd(payload);
      if (message.cmd === 'onStatus' && message.info) statuses.push(message.info as StatusMessage);
    };
    const statuses = this.statuses;
    this.#handshakeDone = new Promise((resolve) => {
      const onData = (data: Buffer): void => {
        this.#handshakeBuffer = Buffer.concat([this.#handshakeBuffer, data]);
        if (this.#handshakeBuffer.length >= 3073) {
          socket.off('data', onData);
          socket.write(this.#handshakeBuffer.subarray(1, 1537)); // C2 echoes S1
          this.#feed(this.#handshakeBuffer);
          socket.on('data', (d: Buffer) => this.#feed(d));
          resolve();
        }
      };
      socket.on('data', onData);
    });
  }

  /** `localAddress`: another loopback address (127.0.0.2 …) to act as a different client. */
  static async open(
    port: number,
    options: { allowHalfOpen?: boolean; localAddress?: string } = {},
  ): Promise<RawRtmpClient> {
    const socket = connect({
      host: '127.0.0.1',
      port,
      allowHalfOpen: options.allowHalfOpen ?? false,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawRtmpClient(socket);
  }

  #feed(data: Buffer): void {
    try {
      this.#parser.parserData(data);
    } catch {
      /* the tests look at statuses and media counts, not at parse failures */
    }
  }

  async handshake(): Promise<void> {
    const c1 = Buffer.alloc(1536);
    randomBytes(1528).copy(c1, 8); // time 0, zero field 0: simple handshake
    this.socket.write(Buffer.concat([Buffer.from([3]), c1]));
    await this.#handshakeDone;
    // Large chunks so every message we send is one chunk.
    this.#send(2, 1, 0, Buffer.from([0, 0, 0xff, 0xff]));
  }

  #send(cid: number, type: number, streamId: number, payload: Buffer, timestamp = 0): void {
    const chunks = Rtmp.chunksCreate({
      header: { fmt: 0, cid, timestamp, length: payload.length, type, stream_id: streamId },
      payload,
      clock: 0,
      capacity: 0,
      bytes: 0,
    });
    if (!this.socket.destroyed) this.socket.write(chunks);
  }

  command(cmd: Record<string, unknown>, streamId = 0): void {
    this.#send(3, 20, streamId, AMF.encodeAmf0Cmd(cmd));
  }

  connectApp(app: string): void {
    this.command({
      cmd: 'connect',
      transId: 1,
      cmdObj: { app, tcUrl: `rtmp://127.0.0.1/${app}`, flashVer: 'FMLE/3.0', objectEncoding: 0 },
    });
    this.command({ cmd: 'createStream', transId: 2, cmdObj: null });
  }

  publish(streamKey: string): void {
    this.command(
      { cmd: 'publish', transId: 3, cmdObj: null, streamName: streamKey, type: 'live' },
      this.#streamId,
    );
  }

  play(streamKey: string): void {
    this.command(
      { cmd: 'play', transId: 3, cmdObj: null, streamName: streamKey, start: -2 },
      this.#streamId,
    );
  }

  /** Sends one FLV tag body as an RTMP message (8 audio, 9 video, 18 data). */
  sendTag(type: number, timestamp: number, data: Buffer): void {
    this.#send(type === 9 ? 5 : type === 8 ? 4 : 6, type, this.#streamId, data, timestamp);
  }

  /** Sends one video key frame and one audio frame, whether or not the server allowed it. */
  sendMedia(timestamp = 0): void {
    this.#send(5, 9, this.#streamId, FAKE_VIDEO_KEYFRAME, timestamp);
    this.#send(4, 8, this.#streamId, FAKE_AUDIO_FRAME, timestamp);
  }

  async waitForStatus(
    match: (s: StatusMessage) => boolean,
    timeoutMs = 3000,
  ): Promise<StatusMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const hit = this.statuses.find(match);
      if (hit) return hit;
      if (this.socket.destroyed) return this.statuses.find(match);
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * The bytes a well-behaved publisher sends, as one buffer: handshake, chunk size, connect,
 * createStream, publish, then media tags. The RTMP fuzzer mutates it.
 */
export function clientSessionBytes(
  app: string,
  streamKey: string,
  tags: Array<{ type: number; timestamp: number; data: Buffer }>,
): Buffer {
  const chunk = (
    cid: number,
    type: number,
    streamId: number,
    payload: Buffer,
    timestamp = 0,
  ): Buffer =>
    Rtmp.chunksCreate({
      header: { fmt: 0, cid, timestamp, length: payload.length, type, stream_id: streamId },
      payload,
      clock: 0,
      capacity: 0,
      bytes: 0,
    });
  const c1 = Buffer.alloc(1536);
  randomBytes(1528).copy(c1, 8);
  const parts = [
    Buffer.from([3]),
    c1,
    Buffer.alloc(1536), // C0, C1, C2 (the server does not check C2)
    chunk(2, 1, 0, Buffer.from([0, 0, 0xff, 0xff])),
    chunk(
      3,
      20,
      0,
      AMF.encodeAmf0Cmd({
        cmd: 'connect',
        transId: 1,
        cmdObj: { app, tcUrl: `rtmp://127.0.0.1/${app}`, flashVer: 'FMLE/3.0', objectEncoding: 0 },
      }),
    ),
    chunk(3, 20, 0, AMF.encodeAmf0Cmd({ cmd: 'createStream', transId: 2, cmdObj: null })),
    chunk(
      3,
      20,
      1,
      AMF.encodeAmf0Cmd({
        cmd: 'publish',
        transId: 3,
        cmdObj: null,
        streamName: streamKey,
        type: 'live',
      }),
    ),
    ...tags.map((t) =>
      chunk(t.type === 9 ? 5 : t.type === 8 ? 4 : 6, t.type, 1, t.data, t.timestamp),
    ),
  ];
  return Buffer.concat(parts);
}
