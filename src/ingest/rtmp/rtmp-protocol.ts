import { requestUrl, type RequestUrl } from '../../net/request-url.js';
import { StagedoorError } from '../../errors.js';
import { Rtmp } from '../../formats/flv/nms.js';

type InvokeMessage = Parameters<Rtmp['onConnect']>[0];

export type StreamAction = 'publish' | 'play';

/** A publish or play command, parsed but not yet answered. */
export interface StreamRequest {
  action: StreamAction;
  app: string;
  name: string;
  /** Query of the stream key (`cam1?token=…`) merged over the query of the connect URL. */
  query: URLSearchParams;
  /** The URL as the client named it: the connect `tcUrl`'s scheme and host, `/<app>/<name>`, the query. */
  url: RequestUrl;
}

export interface RtmpProtocolLimits {
  maxMessageBytes: number;
  /** Distinct chunk stream ids a client may use; real clients use a handful. */
  maxChunkStreams: number;
}

const RTMP_TYPE_SET_CHUNK_SIZE = 1;
const MAX_CHUNK_SIZE = 0x7fffffff;

/**
 * node-media-server's RTMP engine (handshake, chunking, AMF) with its trust decisions taken out.
 *
 * Upstream answers `NetStream.Publish.Start` before anyone has checked the token, and trusts
 * whatever the client sends. Here a publish or play is only parsed and handed to
 * `onStreamRequest`; the connection answers with `accept` or `refuse` once the token is checked.
 * Hostile input that upstream would crash on or allocate without bound is a coded PROTOCOL_ERROR.
 */
export class RtmpProtocol extends Rtmp {
  onStreamRequest: (request: StreamRequest) => void = () => {};
  #connected = false;
  #connectQuery = new URLSearchParams();
  #limits: RtmpProtocolLimits;

  constructor(limits: RtmpProtocolLimits) {
    super();
    this.#limits = limits;
  }

  /** Changes the limits from the next message on (a publisher gets room for media once admitted). */
  setLimits(limits: RtmpProtocolLimits): void {
    this.#limits = limits;
  }

  override onConnect(message: InvokeMessage): void {
    if (this.#connected) throw new StagedoorError('PROTOCOL_ERROR', 'connect sent twice');
    const cmdObj = message.cmdObj;
    if (cmdObj === null || typeof cmdObj !== 'object' || typeof cmdObj.app !== 'string') {
      throw new StagedoorError('PROTOCOL_ERROR', 'connect without an app');
    }
    this.#connected = true;
    // Some clients put the token on the server URL (`rtmp://host/live?token=…`): app becomes `live?token=…`.
    const [app = '', appQuery = ''] = cmdObj.app.split('?', 2);
    this.#connectQuery = new URLSearchParams(appQuery);
    this.connectCmdObj = cmdObj;
    this.streamApp = app.replace(/\/+$/, '');
    this.streamHost = typeof cmdObj.tcUrl === 'string' ? safeHostname(cmdObj.tcUrl) : '';
    const objectEncoding = typeof cmdObj.objectEncoding === 'number' ? cmdObj.objectEncoding : 0;
    (this as unknown as { objectEncoding: number }).objectEncoding = objectEncoding;
    const self = this as unknown as {
      sendWindowACK(size: number): void;
      setPeerBandwidth(size: number, type: number): void;
      setChunkSize(size: number): void;
      respondConnect(tid: number): void;
    };
    self.sendWindowACK(5_000_000);
    self.setPeerBandwidth(5_000_000, 2);
    self.setChunkSize(this.outChunkSize);
    self.respondConnect(message.transId);
  }

  override onPublish(message: InvokeMessage): void {
    this.#request('publish', message);
  }

  override onPlay(message: InvokeMessage): void {
    this.#request('play', message);
  }

  #request(action: StreamAction, message: InvokeMessage): void {
    if (!this.#connected) throw new StagedoorError('PROTOCOL_ERROR', `${action} before connect`);
    if (typeof message.streamName !== 'string')
      throw new StagedoorError('PROTOCOL_ERROR', `${action} without a stream name`);
    const [name = '', query = ''] = message.streamName.split('?', 2);
    this.streamName = name;
    this.streamId = this.parserPacket.header.stream_id;
    // The stream key's parameters replace the server URL's of the same name; repeats are kept, so
    // that two tokens or keys in one stream key are refused (TOKEN_MALFORMED) as on every protocol.
    const own = new URLSearchParams(query);
    const merged = new URLSearchParams(
      [...this.#connectQuery].filter(([k]) => !own.has(k)).concat([...own]),
    );
    const tcUrl = parseUrl(this.connectCmdObj?.tcUrl);
    const url = requestUrl(
      tcUrl?.protocol.slice(0, -1) ?? 'rtmp',
      tcUrl?.host ?? '',
      `/${this.streamApp}/${name}?${merged.toString()}`,
    );
    this.onStreamRequest({ action, app: this.streamApp, name, query: merged, url });
  }

  /** Tells an admitted publisher it may send. */
  acceptPublish(): void {
    this.respondPublish();
  }

  /** Starts an admitted player. */
  acceptPlay(): void {
    this.respondPlay();
  }

  /** Sends the refusal as an onStatus error; the connection then destroys the socket. */
  refuse(action: StreamAction, statusCode: string, description: string): void {
    this.sendStatusMessage(this.streamId ?? 0, 'error', statusCode, description);
  }

  override packetAlloc(): void {
    if (this.parserPacket.header.length > this.#limits.maxMessageBytes) {
      throw new StagedoorError(
        'PROTOCOL_ERROR',
        `RTMP message of ${this.parserPacket.header.length} bytes exceeds ${this.#limits.maxMessageBytes}`,
      );
    }
    if (this.inPackets.size > this.#limits.maxChunkStreams) {
      throw new StagedoorError('PROTOCOL_ERROR', 'too many chunk streams');
    }
    super.packetAlloc();
  }

  override controlHandler(): void {
    if (this.parserPacket.header.type === RTMP_TYPE_SET_CHUNK_SIZE) {
      const size =
        this.parserPacket.header.length >= 4 ? this.parserPacket.payload.readUInt32BE(0) : 0;
      // Zero would stall the parser on NaN offsets forever.
      if (size < 1 || size > MAX_CHUNK_SIZE)
        throw new StagedoorError('PROTOCOL_ERROR', `invalid chunk size ${size}`);
    }
    super.controlHandler();
  }
}

function safeHostname(url: string): string {
  return parseUrl(url)?.hostname ?? '';
}

function parseUrl(url: unknown): URL | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}
