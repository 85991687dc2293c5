// What a CMAF init segment declares of one track, and what a fragment carries of it.

export type CmafVideoCodec = 'h264' | 'hevc';
export type CmafAudioCodec = 'aac';

export interface CmafVideoTrack {
  kind: 'video';
  id: number;
  codec: CmafVideoCodec;
  /** Ticks per second of its decode and presentation times. */
  timescale: number;
  /** The decoder configuration record (avcC / hvcC), verbatim from the publisher. */
  config: Uint8Array;
  width: number;
  height: number;
}

export interface CmafAudioTrack {
  kind: 'audio';
  id: number;
  codec: CmafAudioCodec;
  timescale: number;
  /** The AudioSpecificConfig, verbatim. */
  config: Uint8Array;
  sampleRate: number;
  channels: number;
}

export type CmafTrack = CmafVideoTrack | CmafAudioTrack;

/** One sample of a fragment: its duration and composition offset in its track's timescale. */
export interface CmafSample {
  duration: number;
  /** Presentation minus decode time; negative is allowed (trun version 1). */
  compositionOffset: number;
  /** A sync sample (a key frame; every audio frame). */
  sync: boolean;
  data: Uint8Array;
}

/** A track's run of samples in one fragment, from its decode time on. */
export interface CmafRun {
  track: CmafTrack;
  baseDecodeTime: number;
  samples: readonly CmafSample[];
}
