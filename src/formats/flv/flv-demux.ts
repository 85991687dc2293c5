// FLV tags (from RTMP messages or an FLV byte stream, as node-media-server parses them) into the
// hub's codec-neutral units. Each unit keeps the tag body it came from, so writing it back as FLV
// or RTMP is free and exact, whatever the codec.
import { AccessUnit, StreamMetadata, type MediaUnit } from '../../media/media-unit.js';
import {
  FLV_AUDIO_AAC,
  FLV_AUDIO_EX_HEADER,
  FlvTagType,
  audioCodecName,
  fourccCodecName,
  videoCodecName,
} from './flv-codecs.js';
import { decodeAmf0Data, type AVPacket } from './nms.js';

/** Wire-form name of a unit's FLV tag body (also an RTMP audio/video/data message payload). */
export const FLV_BODY = 'flv-body';

const FRAME_KEY = 1;
/** Enhanced RTMP packet types. */
const EX_SEQUENCE_START = 0;
const EX_CODED_FRAMES = 1;
const EX_CODED_FRAMES_X = 3;

/**
 * The unit a parsed FLV tag carries, or undefined for anything the hub does not take: empty tags,
 * tags too short for their own header, sequence ends and side data, unknown tag types.
 */
export function unitFromFlv(av: AVPacket): MediaUnit | undefined {
  if (av.size <= 0) return undefined;
  // Our own copy: the parsers reuse their buffers for the next tag.
  const body = Buffer.from(av.data.subarray(0, av.size));
  const unit =
    av.codec_type === FlvTagType.Video
      ? videoUnit(body, av.dts)
      : av.codec_type === FlvTagType.Audio
        ? audioUnit(body, av.dts)
        : av.codec_type === FlvTagType.Script
          ? new StreamMetadata(av.dts, metadataValues(body))
          : undefined;
  return unit?.keepEncoded(FLV_BODY, body);
}

function videoUnit(body: Buffer, dts: number): AccessUnit | undefined {
  const frameType = (body[0]! >> 4) & 0x07;
  if (body[0]! & 0x80) {
    // Enhanced RTMP: [1 | frame type | packet type] [FourCC] [SI24 composition time] payload
    if (body.length < 5) return undefined;
    const packetType = body[0]! & 0x0f;
    const codec = fourccCodecName(body.subarray(1, 5));
    if (packetType === EX_SEQUENCE_START)
      return new AccessUnit({
        track: 'video',
        codec,
        dts,
        pts: dts,
        key: false,
        config: true,
        payload: body.subarray(5),
      });
    const withCts = packetType === EX_CODED_FRAMES && (codec === 'hevc' || codec === 'h264');
    if (packetType !== EX_CODED_FRAMES && packetType !== EX_CODED_FRAMES_X) return undefined;
    if (withCts && body.length < 8) return undefined;
    return new AccessUnit({
      track: 'video',
      codec,
      dts,
      pts: withCts ? dts + body.readIntBE(5, 3) : dts,
      key: frameType === FRAME_KEY,
      config: false,
      payload: body.subarray(withCts ? 8 : 5),
    });
  }
  const codec = videoCodecName(body[0]! & 0x0f);
  if (codec === 'h264' || codec === 'hevc') {
    // [frame type | codec] [AVCPacketType] [SI24 composition time] payload
    if (body.length < 5) return undefined;
    const packetType = body[1];
    if (packetType !== 0 && packetType !== 1) return undefined; // 2: end of sequence
    const config = packetType === 0;
    return new AccessUnit({
      track: 'video',
      codec,
      dts,
      pts: dts + body.readIntBE(2, 3),
      key: !config && frameType === FRAME_KEY,
      config,
      payload: body.subarray(5),
    });
  }
  if (body.length < 2) return undefined;
  return new AccessUnit({
    track: 'video',
    codec,
    dts,
    pts: dts,
    key: frameType === FRAME_KEY,
    config: false,
    payload: body.subarray(1),
  });
}

function audioUnit(body: Buffer, dts: number): AccessUnit | undefined {
  const format = body[0]! >> 4;
  const frame = (codec: string, config: boolean, payload: Buffer): AccessUnit =>
    new AccessUnit({ track: 'audio', codec, dts, pts: dts, key: false, config, payload });
  if (format === FLV_AUDIO_AAC) {
    // [0xAF] [AACPacketType: 0 AudioSpecificConfig, 1 raw frame] payload
    if (body.length < 2) return undefined;
    return frame('aac', body[1] === 0, body.subarray(2));
  }
  if (format === FLV_AUDIO_EX_HEADER) {
    // Enhanced RTMP v2: [9 | packet type] [FourCC] payload; multitrack and mods are not taken.
    if (body.length < 5) return undefined;
    const packetType = body[0]! & 0x0f;
    if (packetType !== EX_SEQUENCE_START && packetType !== EX_CODED_FRAMES) return undefined;
    return frame(
      fourccCodecName(body.subarray(1, 5)),
      packetType === EX_SEQUENCE_START,
      body.subarray(5),
    );
  }
  return frame(audioCodecName(format), false, body.subarray(1));
}

/** `onMetaData`'s object (after RTMP's `@setDataFrame` wrapper, if any); advisory, so garbage is {}. */
function metadataValues(body: Buffer): Record<string, unknown> {
  try {
    return decodeAmf0Data(body).dataObj ?? {};
  } catch {
    return {};
  }
}
