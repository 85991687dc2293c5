// A multivariant (master) playlist (RFC 8216bis §4.4.6): one EXT-X-STREAM-INF per rendition.

export interface Variant {
  uri: string;
  /** Peak bits per second. */
  bandwidth: number;
  width?: number | undefined;
  height?: number | undefined;
  /** RFC 6381 codecs, e.g. `avc1.64001f`, `mp4a.40.2`; left out when unknown. */
  codecs?: readonly string[] | undefined;
}

export function renderMasterPlaylist(variants: readonly Variant[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const variant of variants) {
    const attributes = [`BANDWIDTH=${Math.round(variant.bandwidth)}`];
    if (variant.width && variant.height)
      attributes.push(`RESOLUTION=${variant.width}x${variant.height}`);
    if (variant.codecs && variant.codecs.length > 0)
      attributes.push(`CODECS="${variant.codecs.join(',')}"`);
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, variant.uri);
  }
  return `${lines.join('\n')}\n`;
}

/** `avc1.PPCCLL` from an AVCDecoderConfigurationRecord (version 1, profile, compatibility, level). */
export function avcCodecString(record: Uint8Array): string | undefined {
  if (record.length < 4 || record[0] !== 1) return undefined;
  const hex = (b: number) => b.toString(16).padStart(2, '0');
  return `avc1.${hex(record[1]!)}${hex(record[2]!)}${hex(record[3]!)}`;
}

/** `mp4a.40.<object type>` of an AAC stream. */
export function aacCodecString(objectType: number): string {
  return `mp4a.40.${objectType}`;
}
