// What an H.264 stream's decoder configuration says about whether players can decode it: its first
// sequence parameter set's profile, chroma format and bit depth (ITU-T H.264 §7.3.2.1.1).

/** Profile, chroma format and bit depth of an H.264 stream, from its first SPS. */
export interface AvcFormat {
  profileIdc: number;
  /** 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4. */
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** Picture size after cropping; undefined when the SPS ends before it says. */
  width?: number | undefined;
  height?: number | undefined;
}

/** Profiles whose SPS carries chroma format and bit depth (the others are 4:2:0, 8-bit). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

const CHROMA_NAMES = ['4:0:0', '4:2:0', '4:2:2', '4:4:4'];

/**
 * Reads an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1: what FLV and MP4 carry as the
 * video decoder config). Undefined when it holds no readable SPS.
 */
export function parseAvcConfig(record: Buffer): AvcFormat | undefined {
  if (record.length < 8 || record[0] !== 1) return undefined;
  const spsCount = record[5]! & 0x1f;
  if (spsCount === 0) return undefined;
  const length = record.readUInt16BE(6);
  if (8 + length > record.length || length < 4) return undefined;
  try {
    return parseSps(record.subarray(8, 8 + length));
  } catch {
    return undefined; // a truncated SPS
  }
}

/** True when most players decode it: 4:2:0 (or monochrome), 8-bit. */
export function isWidelyPlayable(format: AvcFormat): boolean {
  return format.chromaFormatIdc <= 1 && format.bitDepthLuma === 8 && format.bitDepthChroma === 8;
}

/** `High 4:4:4 Predictive, 4:4:4 8-bit`: for a log line or the admin API. */
export function describeAvcFormat(format: AvcFormat): string {
  const profile = PROFILE_NAMES[format.profileIdc] ?? `profile ${format.profileIdc}`;
  const chroma = CHROMA_NAMES[format.chromaFormatIdc] ?? `chroma ${format.chromaFormatIdc}`;
  const depth =
    format.bitDepthLuma === format.bitDepthChroma
      ? `${format.bitDepthLuma}-bit`
      : `${format.bitDepthLuma}/${format.bitDepthChroma}-bit`;
  return `${profile}, ${chroma} ${depth}`;
}

const PROFILE_NAMES: Record<number, string> = {
  66: 'Baseline',
  77: 'Main',
  88: 'Extended',
  100: 'High',
  110: 'High 10',
  122: 'High 4:2:2',
  244: 'High 4:4:4 Predictive',
  44: 'CAVLC 4:4:4 Intra',
};

function parseSps(nal: Buffer): AvcFormat {
  const rbsp = unescapeRbsp(nal.subarray(1)); // past the NAL header
  const bits = new BitReader(rbsp);
  const profileIdc = bits.read(8);
  bits.read(16); // constraint flags, reserved bits, level_idc
  bits.ue(); // seq_parameter_set_id
  let format: AvcFormat = { profileIdc, chromaFormatIdc: 1, bitDepthLuma: 8, bitDepthChroma: 8 };
  let separateColourPlane = false;
  if (HIGH_PROFILES.has(profileIdc)) {
    const chromaFormatIdc = bits.ue();
    if (chromaFormatIdc === 3) separateColourPlane = bits.read(1) === 1;
    const bitDepthLuma = bits.ue() + 8;
    const bitDepthChroma = bits.ue() + 8;
    format = { profileIdc, chromaFormatIdc, bitDepthLuma, bitDepthChroma };
  }
  try {
    return { ...format, ...pictureSize(bits, format, separateColourPlane) };
  } catch {
    return format; // the SPS ends before its picture size: the format alone is still right
  }
}

/** The rest of the SPS up to its size and cropping (§7.3.2.1.1, §7.4.2.1.1 for the crop units). */
function pictureSize(
  bits: BitReader,
  format: AvcFormat,
  separateColourPlane: boolean,
): { width: number; height: number } {
  if (HIGH_PROFILES.has(format.profileIdc)) {
    bits.read(1); // qpprime_y_zero_transform_bypass_flag
    if (bits.read(1) === 1) {
      const lists = format.chromaFormatIdc !== 3 ? 8 : 12;
      for (let i = 0; i < lists; i++)
        if (bits.read(1) === 1) skipScalingList(bits, i < 6 ? 16 : 64);
    }
  }
  bits.ue(); // log2_max_frame_num_minus4
  const pocType = bits.ue();
  if (pocType === 0) bits.ue();
  else if (pocType === 1) {
    bits.read(1);
    bits.se();
    bits.se();
    const cycle = bits.ue();
    for (let i = 0; i < cycle; i++) bits.se();
  }
  bits.ue(); // max_num_ref_frames
  bits.read(1); // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = bits.ue() + 1;
  const heightInMapUnits = bits.ue() + 1;
  const frameMbsOnly = bits.read(1);
  if (frameMbsOnly === 0) bits.read(1); // mb_adaptive_frame_field_flag
  bits.read(1); // direct_8x8_inference_flag
  let crop = [0, 0, 0, 0];
  if (bits.read(1) === 1) crop = [bits.ue(), bits.ue(), bits.ue(), bits.ue()];
  const chroma = separateColourPlane ? 0 : format.chromaFormatIdc;
  const subWidth = chroma === 1 || chroma === 2 ? 2 : 1;
  const subHeight = chroma === 1 ? 2 : 1;
  const cropX = chroma === 0 ? 1 : subWidth;
  const cropY = (chroma === 0 ? 1 : subHeight) * (2 - frameMbsOnly);
  return {
    width: widthInMbs * 16 - cropX * (crop[0]! + crop[1]!),
    height: (2 - frameMbsOnly) * heightInMapUnits * 16 - cropY * (crop[2]! + crop[3]!),
  };
}

function skipScalingList(bits: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + bits.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Drops the emulation-prevention bytes (00 00 03 → 00 00). */
function unescapeRbsp(bytes: Buffer): Buffer {
  const out = Buffer.alloc(bytes.length);
  let n = 0;
  let zeros = 0;
  for (const byte of bytes) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[n++] = byte;
  }
  return out.subarray(0, n);
}

class BitReader {
  readonly #bytes: Buffer;
  #bit = 0;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  read(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const byte = this.#bytes[this.#bit >> 3];
      if (byte === undefined) throw new RangeError('SPS truncated');
      value = value * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return value;
  }

  /** Unsigned Exp-Golomb. */
  ue(): number {
    let zeros = 0;
    while (this.read(1) === 0) if (++zeros > 31) throw new RangeError('bad Exp-Golomb code');
    return 2 ** zeros - 1 + this.read(zeros);
  }

  /** Signed Exp-Golomb. */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}
