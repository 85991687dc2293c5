// FLV's codec numbers and enhanced-RTMP FourCCs, and the neutral names the stream hub uses.
// The one table of FLV codec ids: nothing outside formats/flv/ sees them.

/** FLV tag types. */
export const FlvTagType = { Audio: 8, Video: 9, Script: 18 } as const;

/** Legacy VideoTagHeader codec ids (12 is the common, unofficial HEVC extension). */
const VIDEO_CODEC_IDS: Record<number, string> = {
  2: 'h263',
  3: 'screen',
  4: 'vp6',
  5: 'vp6a',
  6: 'screen2',
  7: 'h264',
  12: 'hevc',
};

/** Legacy AudioTagHeader sound formats (13 is the common, unofficial Opus extension). */
const AUDIO_CODEC_IDS: Record<number, string> = {
  0: 'pcm',
  1: 'adpcm',
  2: 'mp3',
  3: 'pcm-le',
  4: 'nellymoser',
  5: 'nellymoser',
  6: 'nellymoser',
  7: 'alaw',
  8: 'mulaw',
  10: 'aac',
  11: 'speex',
  13: 'opus',
  14: 'mp3',
};

/** Enhanced RTMP (v1/v2) FourCCs. */
const FOURCCS: Record<string, string> = {
  hvc1: 'hevc',
  av01: 'av1',
  vp09: 'vp9',
  avc1: 'h264',
  mp4a: 'aac',
  Opus: 'opus',
  '.mp3': 'mp3',
  fLaC: 'flac',
  'ac-3': 'ac-3',
  'ec-3': 'ec-3',
};

export const FLV_VIDEO_H264 = 7;
export const FLV_AUDIO_AAC = 10;
/** Sound format 9 and the video header's top bit announce an enhanced-RTMP FourCC header. */
export const FLV_AUDIO_EX_HEADER = 9;

export function videoCodecName(id: number): string {
  return VIDEO_CODEC_IDS[id] ?? `flv-video-${id}`;
}

export function audioCodecName(id: number): string {
  return AUDIO_CODEC_IDS[id] ?? `flv-audio-${id}`;
}

export function fourccCodecName(fourcc: Buffer): string {
  const text = fourcc.toString('latin1');
  return FOURCCS[text] ?? text;
}
