// node-media-server 4.4.3 ships no TypeScript types. These cover the protocol modules Stagedoor
// embeds (the RTMP engine, FLV tags, the AV packet and the module logger), nothing more.

declare module 'node-media-server/src/core/avpacket.js' {
  class AVPacket {
    codec_id: number;
    /** 8 audio, 9 video, 18 script data. */
    codec_type: number;
    duration: number;
    /** 0 audio header, 1 audio frame, 2 video header, 3 key frame, 4 inter frame, 5 metadata, 6 HDR metadata. */
    flags: number;
    pts: number;
    dts: number;
    size: number;
    offset: number;
    data: Buffer;
  }
  export = AVPacket;
}

declare module 'node-media-server/src/protocol/rtmp.js' {
  import type AVPacket from 'node-media-server/src/core/avpacket.js';

  interface RtmpInvokeMessage {
    cmd: string;
    transId: number;
    cmdObj: Record<string, unknown> | null;
    streamName?: unknown;
    [key: string]: unknown;
  }

  interface RtmpConnectRequest {
    app: string;
    name: string;
    host: string;
    query: Record<string, string | string[] | undefined>;
  }

  class Rtmp {
    constructor();
    handshakeState: number;
    inChunkSize: number;
    outChunkSize: number;
    streams: number;
    streamApp: string;
    streamName: string;
    streamHost: string;
    streamId: number;
    streamQuery: Record<string, string | string[] | undefined>;
    connectCmdObj: Record<string, unknown>;
    parserPacket: {
      header: {
        fmt: number;
        cid: number;
        timestamp: number;
        length: number;
        type: number;
        stream_id: number;
      };
      payload: Buffer;
      capacity: number;
      bytes: number;
      clock: number;
    };
    inPackets: Map<number, unknown>;
    onConnectCallback: (req: RtmpConnectRequest) => void;
    onPlayCallback: () => void;
    onPushCallback: () => void;
    onPacketCallback: (packet: AVPacket) => void;
    onOutputCallback: (buffer: Buffer) => void;
    /** Feeds bytes from the socket; returns an error string or null. May throw on hostile input. */
    parserData(buffer: Buffer): string | null;
    packetAlloc(): void;
    controlHandler(): void;
    invokeHandler(): void;
    dataHandler(): void;
    onConnect(invokeMessage: RtmpInvokeMessage): void;
    onCreateStream(invokeMessage: RtmpInvokeMessage): void;
    onPublish(invokeMessage: RtmpInvokeMessage): void;
    onPlay(invokeMessage: RtmpInvokeMessage): void;
    onDeleteStream(invokeMessage: RtmpInvokeMessage): void;
    sendStatusMessage(sid: number, level: string, code: string, description: string): void;
    sendStreamStatus(status: number, id: number): void;
    respondPublish(): void;
    respondPlay(): void;
    static createMessage(packet: AVPacket): Buffer;
  }
  export = Rtmp;
}

declare module 'node-media-server/src/protocol/flv.js' {
  import type AVPacket from 'node-media-server/src/core/avpacket.js';
  class Flv {
    constructor();
    onPacketCallback: (packet: AVPacket) => void;
    /** Feeds an FLV byte stream (file header first); returns an error string or null. */
    parserData(buffer: Buffer): string | null;
    parserTagAlloc(size: number): void;
    static createHeader(hasAudio: boolean, hasVideo: boolean): Buffer;
    static createMessage(packet: AVPacket): Buffer;
    static parserTag(type: number, time: number, size: number, data: Buffer): AVPacket;
  }
  export = Flv;
}

declare module 'node-media-server/src/core/logger.js' {
  interface NmsLogger {
    level: string;
    log(message: string, logLevel?: string): void;
  }
  const logger: NmsLogger;
  export = logger;
}

declare module 'node-media-server/src/protocol/amf.js' {
  /** Decodes an AMF0 data message such as `@setDataFrame onMetaData {…}`. May throw on garbage. */
  export function decodeAmf0Data(buffer: Buffer): {
    cmd?: unknown;
    method?: unknown;
    dataObj?: Record<string, unknown> | null;
    [key: string]: unknown;
  };
  /** Encodes an AMF0 data message: `cmd`, then the fields that command carries (`dataObj` …). */
  export function encodeAmf0Data(message: { cmd: string; [key: string]: unknown }): Buffer;
}
