// A live media playlist with the low-latency extensions of RFC 8216bis (§4.4.4.9 EXT-X-PART,
// §4.4.3.7 EXT-X-PART-INF, §4.4.3.8 EXT-X-SERVER-CONTROL, §4.4.5.2 EXT-X-PRELOAD-HINT,
// §4.4.5.1 EXT-X-SKIP). A player that knows none of them reads the segments as a regular playlist.

export interface PlaylistPart {
  uri: string;
  /** Seconds. */
  duration: number;
  independent: boolean;
}

export interface PlaylistSegment {
  msn: number;
  /** The init segment it needs (EXT-X-MAP). */
  map: string;
  discontinuity: boolean;
  /** Wall-clock time of its first sample, ms since the epoch (EXT-X-PROGRAM-DATE-TIME). */
  programDateTime: number;
  parts: readonly PlaylistPart[];
  /** Undefined for the segment still being made: only its parts are listed. */
  uri?: string | undefined;
  duration: number;
}

export interface MediaPlaylist {
  targetDuration: number;
  partTarget: number;
  mediaSequence: number;
  discontinuitySequence: number;
  /** Complete segments, oldest first, then at most one in progress (no `uri`). */
  segments: readonly PlaylistSegment[];
  /** The next part's URI, while the stream goes on. */
  preloadHint?: string | undefined;
  /** Where the stream's other renditions stand (EXT-X-RENDITION-REPORT), for a player switching. */
  reports?: readonly RenditionReport[] | undefined;
  ended: boolean;
}

/** The last part of another rendition's playlist (RFC 8216bis §4.4.5.4). */
export interface RenditionReport {
  uri: string;
  lastMsn: number;
  lastPart: number | undefined;
}

const seconds = (value: number): string => value.toFixed(5);

/** Hold-backs and skip boundary the playlist advertises (RFC 8216bis §4.4.3.8 minimums and advice). */
export function serverControl(playlist: Pick<MediaPlaylist, 'targetDuration' | 'partTarget'>): {
  partHoldBack: number;
  canSkipUntil: number;
} {
  return { partHoldBack: 3 * playlist.partTarget, canSkipUntil: 6 * playlist.targetDuration };
}

/** How many of the oldest complete segments a delta update (`_HLS_skip=YES`) leaves out. */
export function skippableSegments(playlist: MediaPlaylist): number {
  const { canSkipUntil } = serverControl(playlist);
  let fromEnd = 0;
  const complete = playlist.segments.filter((s) => s.uri !== undefined);
  for (let i = playlist.segments.length - 1; i >= 0; i--) {
    fromEnd += playlist.segments[i]!.duration;
    if (fromEnd > canSkipUntil) return Math.min(i, complete.length);
  }
  return 0;
}

/** The playlist's text; `skip`: a delta update that leaves out what `skippableSegments` allows. */
export function renderMediaPlaylist(
  playlist: MediaPlaylist,
  options: { skip?: boolean } = {},
): string {
  const control = serverControl(playlist);
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:9',
    `#EXT-X-TARGETDURATION:${playlist.targetDuration}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=${seconds(control.canSkipUntil)},PART-HOLD-BACK=${seconds(control.partHoldBack)}`,
    `#EXT-X-PART-INF:PART-TARGET=${seconds(playlist.partTarget)}`,
    `#EXT-X-MEDIA-SEQUENCE:${playlist.mediaSequence}`,
  ];
  if (playlist.discontinuitySequence > 0)
    lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${playlist.discontinuitySequence}`);
  lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  const skipped = options.skip ? skippableSegments(playlist) : 0;
  if (skipped > 0) lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`);
  // Parts are listed for the segments of the last three target durations (§6.2.2).
  let partsFrom = playlist.segments.length;
  for (let fromEnd = 0; partsFrom > 0 && fromEnd < 3 * playlist.targetDuration;)
    fromEnd += playlist.segments[--partsFrom]!.duration;
  let map: string | undefined;
  playlist.segments.forEach((segment, i) => {
    if (i < skipped) return;
    if (segment.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (segment.map !== map) lines.push(`#EXT-X-MAP:URI="${segment.map}"`);
    map = segment.map;
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateTime).toISOString()}`);
    if (i >= partsFrom)
      for (const part of segment.parts)
        lines.push(
          `#EXT-X-PART:DURATION=${seconds(part.duration)},URI="${part.uri}"${part.independent ? ',INDEPENDENT=YES' : ''}`,
        );
    if (segment.uri !== undefined) lines.push(`#EXTINF:${seconds(segment.duration)},`, segment.uri);
  });
  if (playlist.ended) lines.push('#EXT-X-ENDLIST');
  else if (playlist.preloadHint)
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${playlist.preloadHint}"`);
  if (!playlist.ended)
    for (const report of playlist.reports ?? [])
      lines.push(
        `#EXT-X-RENDITION-REPORT:URI="${report.uri}",LAST-MSN=${report.lastMsn}${report.lastPart === undefined ? '' : `,LAST-PART=${report.lastPart}`}`,
      );
  return `${lines.join('\n')}\n`;
}
