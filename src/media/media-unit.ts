// What the stream hub carries: codec-neutral access units and stream metadata. Ingest turns its
// wire format into these; outputs and players turn them into theirs. Nothing here knows FLV, RTMP
// or any container: a unit only keeps, per wire format, the bytes a format once encoded it into,
// so a packet fanned out to a thousand players is serialised once.

/** Video codecs by their usual short names (`codec` of a video unit). */
export type VideoCodec = 'h264' | 'hevc' | 'av1' | 'vp9' | 'vp6' | 'h263' | (string & {});
/** Audio codecs by their usual short names (`codec` of an audio unit). */
export type AudioCodec = 'aac' | 'mp3' | 'opus' | 'flac' | 'ac-3' | 'ec-3' | (string & {});

/** Bytes a unit was encoded into, once per wire format. */
abstract class WireForms {
  readonly #forms = new Map<string, Buffer>();

  /** This unit in `format`, encoded by `encode` the first time only. */
  encodedAs(format: string, encode: (unit: this) => Buffer): Buffer {
    let bytes = this.#forms.get(format);
    if (!bytes) {
      bytes = encode(this);
      this.#forms.set(format, bytes);
    }
    return bytes;
  }

  /** Records bytes the unit arrived in, so re-encoding into that format costs nothing and loses nothing. */
  keepEncoded(format: string, bytes: Buffer): this {
    this.#forms.set(format, bytes);
    return this;
  }
}

export interface AccessUnitFields {
  track: 'video' | 'audio';
  codec: VideoCodec | AudioCodec;
  /** Decode and presentation times, milliseconds on the publisher's clock. */
  dts: number;
  pts: number;
  /** A frame a decoder can start from (video); always false for audio and decoder configs. */
  key: boolean;
  /**
   * The payload is the decoder configuration (AVCDecoderConfigurationRecord, HEVC/AV1/VP9
   * configuration record, AudioSpecificConfig) rather than a frame.
   */
  config: boolean;
  /** H.264/HEVC: length-prefixed (AVCC) NAL units; AAC: one raw frame; else the codec's frame. */
  payload: Buffer;
}

/** One video or audio access unit (or decoder configuration) of a live stream. */
export class AccessUnit extends WireForms implements Readonly<AccessUnitFields> {
  readonly kind = 'access-unit' as const;
  readonly track: 'video' | 'audio';
  readonly codec: VideoCodec | AudioCodec;
  readonly dts: number;
  readonly pts: number;
  readonly key: boolean;
  readonly config: boolean;
  readonly payload: Buffer;

  constructor(fields: AccessUnitFields) {
    super();
    this.track = fields.track;
    this.codec = fields.codec;
    this.dts = fields.dts;
    this.pts = fields.pts;
    this.key = fields.key;
    this.config = fields.config;
    this.payload = fields.payload;
  }

  get byteLength(): number {
    return this.payload.length;
  }
}

/** What a publisher declares about its stream (size, frame rate, bit rates): advisory only. */
export class StreamMetadata extends WireForms {
  readonly kind = 'metadata' as const;

  constructor(
    readonly dts: number,
    readonly values: Readonly<Record<string, unknown>>,
  ) {
    super();
  }

  get byteLength(): number {
    return 0;
  }

  /** A positive finite number the publisher declared under `name`, else undefined. */
  number(name: string): number | undefined {
    const v = this.values[name];
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
  }
}

export type MediaUnit = AccessUnit | StreamMetadata;

/** The tracks of a stream, as an output decides copy or encode from them. */
export interface InputTracks {
  hasAudio: boolean;
  videoIsH264: boolean;
  audioIsAac: boolean;
}

/** The tracks a stream's decoder configurations describe. */
export function tracksOf(headers: {
  audio: AccessUnit | null;
  video: AccessUnit | null;
}): InputTracks {
  return {
    hasAudio: headers.audio !== null,
    videoIsH264: headers.video?.codec === 'h264',
    audioIsAac: headers.audio?.codec === 'aac',
  };
}

/** A video frame a decoder can start from. */
export function isKeyFrame(unit: MediaUnit): boolean {
  return unit.kind === 'access-unit' && unit.track === 'video' && unit.key;
}
