import type { AccessUnit } from '../media/media-unit.js';
import { describeAvcFormat, isWidelyPlayable, parseAvcConfig } from '../formats/h264/avc-config.js';

/**
 * Whether a copy rendition may pass the publisher's H.264 through as it is. Most players decode
 * only 4:2:0 8-bit H.264 (an ffmpeg run without `-pix_fmt yuv420p` publishes High 4:4:4), so other
 * H.264 is encoded at source size instead, as a non-H.264 source is, and `warning` says why.
 */
export function copyDecision(video: AccessUnit | null): { copyable: boolean; warning?: string } {
  if (video?.codec !== 'h264') return { copyable: false };
  const format = parseAvcConfig(video.payload);
  if (!format || isWidelyPlayable(format)) return { copyable: true };
  return {
    copyable: false,
    warning: `the source is H.264 ${describeAvcFormat(format)}, which most players cannot decode: the copy rendition is encoded to 4:2:0 8-bit instead`,
  };
}
