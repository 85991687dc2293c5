import { Rtmp, Flv, AVPacket } from '../ingest/rtmp/nms.js';

/** FLV/RTMP packet kinds as node-media-server's parser flags them. */
export const PacketFlag = {
  AudioHeader: 0,
  AudioFrame: 1,
  VideoHeader: 2,
  KeyFrame: 3,
  InterFrame: 4,
  Metadata: 5,
} as const;

const MEDIA_TYPES = new Set([8, 9, 18]);

/**
 * Is this parsed FLV/RTMP packet one the stream hub takes? Audio, video or script data only, and
 * never an empty one or a video packet too short for its header (NMS's parser would read garbage).
 */
export function isMediaPacket(av: AVPacket): boolean {
  return MEDIA_TYPES.has(av.codec_type) && av.size > 0 && !(av.codec_type === 9 && av.size < 5);
}

/**
 * One audio, video or script-data packet from a publisher. Owns a copy of its bytes (the RTMP
 * parser reuses its buffers) and serialises itself once per wire format, however many viewers.
 */
export class MediaPacket {
  readonly av: AVPacket;
  #rtmp: Buffer | undefined;
  #flv: Buffer | undefined;

  constructor(source: AVPacket) {
    const av = new AVPacket();
    av.codec_id = source.codec_id;
    av.codec_type = source.codec_type;
    av.flags = source.flags;
    av.pts = source.pts;
    av.dts = source.dts;
    av.size = source.size;
    av.data = Buffer.from(source.data.subarray(0, source.size));
    this.av = av;
  }

  get flags(): number {
    return this.av.flags;
  }

  get byteLength(): number {
    return this.av.size;
  }

  /** RTMP chunk stream bytes for a player. */
  get rtmpMessage(): Buffer {
    this.#rtmp ??= Rtmp.createMessage(this.av);
    return this.#rtmp;
  }

  /** FLV tag bytes (with previous-tag-size) for an FLV consumer such as FFmpeg's stdin. */
  get flvTag(): Buffer {
    this.#flv ??= Flv.createMessage(
      this.av.codec_type === 18 ? withoutSetDataFrame(this.av) : this.av,
    );
    return this.#flv;
  }
}

// AMF0 string "@setDataFrame": RTMP wraps metadata in it; an FLV script tag must start at "onMetaData".
const SET_DATA_FRAME = Buffer.from([0x02, 0x00, 0x0d, ...Buffer.from('@setDataFrame')]);

function withoutSetDataFrame(av: AVPacket): AVPacket {
  if (!av.data.subarray(0, SET_DATA_FRAME.length).equals(SET_DATA_FRAME)) return av;
  const copy = new AVPacket();
  Object.assign(copy, av);
  copy.data = av.data.subarray(SET_DATA_FRAME.length);
  copy.size = av.size - SET_DATA_FRAME.length;
  return copy;
}
