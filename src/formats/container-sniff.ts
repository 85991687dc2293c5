import type { InputTracks } from '../media/media-unit.js';

export type ContainerFormat = 'flv' | 'matroska' | 'mp4';

const EBML_MAGIC = Buffer.from([0x1a, 0x45, 0xdf, 0xa3]);

/** Bytes enough to recognise any of the containers (MP4 needs its first box's size and type). */
export const SNIFF_BYTES = 8;

/** The container of a byte stream from its first bytes (or the client's `?format=`), else undefined. */
export function detectContainer(first: Buffer, hint?: string): ContainerFormat | undefined {
  if (hint) {
    const h = hint.toLowerCase();
    if (h === 'flv') return 'flv';
    if (h === 'webm' || h === 'mkv' || h === 'matroska') return 'matroska';
    if (h === 'mp4' || h === 'fmp4') return 'mp4';
    return undefined;
  }
  if (first.length >= 3 && first.toString('latin1', 0, 3) === 'FLV') return 'flv';
  if (first.subarray(0, 4).equals(EBML_MAGIC)) return 'matroska';
  if (
    first.length >= 8 &&
    ['ftyp', 'styp', 'moov', 'moof'].includes(first.toString('latin1', 4, 8))
  )
    return 'mp4';
  return undefined;
}

/**
 * The tracks named in a Matroska/WebM or MP4 header (CodecID strings, sample entry boxes). Enough
 * to decide copy or encode; FFmpeg does the real parsing. Undefined when no video track is named.
 */
export function sniffTracks(format: 'matroska' | 'mp4', header: Buffer): InputTracks | undefined {
  const text = header.toString('latin1');
  if (format === 'matroska') {
    const h264 = text.includes('V_MPEG4/ISO/AVC');
    const video = h264 || /V_VP8|V_VP9|V_AV1|V_MPEGH\/ISO\/HEVC/.test(text);
    if (!video) return undefined;
    const aac = text.includes('A_AAC');
    return {
      videoIsH264: h264,
      hasAudio: aac || /A_OPUS|A_VORBIS|A_MPEG\/L3/.test(text),
      audioIsAac: aac,
    };
  }
  const h264 = /avc1|avc3/.test(text);
  const video = h264 || /hev1|hvc1|vp09|av01/.test(text);
  if (!video) return undefined;
  const aac = text.includes('mp4a');
  return { videoIsH264: h264, hasAudio: aac || text.includes('Opus'), audioIsAac: aac };
}
