// Hub units into FLV: tag bodies (also RTMP message payloads), whole tags for an FLV byte stream
// such as FFmpeg's stdin, and the file header. A unit that arrived as FLV is written back from the
// bytes it kept; one from elsewhere is encoded from its fields (H.264, AAC and metadata).
import type { AccessUnit, MediaUnit, StreamMetadata } from '../../media/media-unit.js';
import { FLV_AUDIO_AAC, FLV_VIDEO_H264, FlvTagType } from './flv-codecs.js';
import { FLV_BODY } from './flv-demux.js';
import { AVPacket, Flv, encodeAmf0Data } from './nms.js';

const FLV_TAG = 'flv-tag';
// AMF0 string "@setDataFrame": RTMP wraps metadata in it; an FLV script tag must start at "onMetaData".
const SET_DATA_FRAME = Buffer.from([0x02, 0x00, 0x0d, ...Buffer.from('@setDataFrame')]);

export function flvTagType(unit: MediaUnit): number {
  if (unit.kind === 'metadata') return FlvTagType.Script;
  return unit.track === 'video' ? FlvTagType.Video : FlvTagType.Audio;
}

/** The FLV tag body of a unit: what follows the 11-byte tag header, and an RTMP message's payload. */
export function flvTagBody(unit: MediaUnit): Buffer {
  return unit.encodedAs(FLV_BODY, (u: MediaUnit) =>
    u.kind === 'metadata' ? metadataBody(u) : accessUnitBody(u),
  );
}

/** The unit as node-media-server's packet, for its RTMP chunker. */
export function flvPacket(unit: MediaUnit, body = flvTagBody(unit)): AVPacket {
  const av = new AVPacket();
  av.codec_type = flvTagType(unit);
  av.dts = unit.dts;
  av.pts = unit.kind === 'metadata' ? unit.dts : unit.pts;
  av.size = body.length;
  av.data = body;
  return av;
}

/** A whole FLV tag (header, body, previous-tag-size), for an FLV byte stream. */
export function flvTag(unit: MediaUnit): Buffer {
  return unit.encodedAs(FLV_TAG, (u: MediaUnit) => {
    let body = flvTagBody(u);
    if (u.kind === 'metadata' && body.subarray(0, SET_DATA_FRAME.length).equals(SET_DATA_FRAME))
      body = body.subarray(SET_DATA_FRAME.length);
    return Flv.createMessage(flvPacket(u, body));
  });
}

/** The 13 bytes an FLV byte stream starts with. */
export function flvFileHeader(hasAudio: boolean): Buffer {
  return Flv.createHeader(hasAudio, true);
}

function accessUnitBody(unit: AccessUnit): Buffer {
  if (unit.track === 'video' && unit.codec === 'h264') {
    const head = Buffer.alloc(5);
    head[0] = ((unit.key || unit.config ? 1 : 2) << 4) | FLV_VIDEO_H264;
    head[1] = unit.config ? 0 : 1;
    head.writeIntBE(unit.config ? 0 : unit.pts - unit.dts, 2, 3);
    return Buffer.concat([head, unit.payload]);
  }
  if (unit.track === 'audio' && unit.codec === 'aac')
    // AAC in FLV always declares 44 kHz, 16-bit, stereo: the AudioSpecificConfig says what is true.
    return Buffer.concat([
      Buffer.from([(FLV_AUDIO_AAC << 4) | 0x0f, unit.config ? 0 : 1]),
      unit.payload,
    ]);
  throw new Error(`FLV output of ${unit.codec} ${unit.track} is not supported`);
}

function metadataBody(unit: StreamMetadata): Buffer {
  return encodeAmf0Data({ cmd: 'onMetaData', dataObj: unit.values });
}
