// What an AAC AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) says: the object type, sampling
// rate and channel layout that a sample entry and a CODECS attribute need.

const SAMPLING_RATES = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

export interface AacConfig {
  /** 2 is AAC-LC (`mp4a.40.2`), 5 HE-AAC, 29 HE-AACv2. */
  objectType: number;
  sampleRate: number;
  channels: number;
  /** PCM samples per frame: 1024 (960 for the rare short-frame flag). */
  samplesPerFrame: number;
}

/** The config's fields, or undefined when it is too short or names no usable rate or layout. */
export function parseAacConfig(config: Uint8Array): AacConfig | undefined {
  if (config.length < 2) return undefined;
  let bit = 0;
  const read = (count: number): number => {
    let value = 0;
    for (let i = 0; i < count; i++, bit++) {
      const byte = config[bit >> 3];
      if (byte === undefined) throw new RangeError('truncated');
      value = value * 2 + ((byte >> (7 - (bit & 7))) & 1);
    }
    return value;
  };
  try {
    let objectType = read(5);
    if (objectType === 31) objectType = 32 + read(6);
    const index = read(4);
    const sampleRate = index === 15 ? read(24) : SAMPLING_RATES[index];
    const channelConfig = read(4);
    // Channel configuration 7 is 7.1 (8 channels); 0 means a program config element follows,
    // which players decode as stereo unless told otherwise.
    const channels = channelConfig === 7 ? 8 : channelConfig === 0 ? 2 : channelConfig;
    if (!sampleRate || channelConfig > 7) return undefined;
    // GASpecificConfig's frameLengthFlag, for the core AAC object types.
    const shortFrames = [1, 2, 3, 4, 6, 7].includes(objectType) && read(1) === 1;
    return { objectType, sampleRate, channels, samplesPerFrame: shortFrames ? 960 : 1024 };
  } catch {
    return undefined;
  }
}
