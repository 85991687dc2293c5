// Checks a live media playlist against RFC 8216bis rules that LL-HLS players depend on. Returns
// every broken rule as a sentence (empty when the playlist is fine), so a failing test says why.

export interface ParsedPart {
  duration: number;
  uri: string;
  independent: boolean;
}

export interface ParsedSegment {
  msn: number;
  duration: number | undefined;
  uri: string | undefined;
  parts: ParsedPart[];
  discontinuity: boolean;
}

export interface ParsedPlaylist {
  version: number | undefined;
  targetDuration: number;
  partTarget: number | undefined;
  partHoldBack: number | undefined;
  canSkipUntil: number | undefined;
  canBlockReload: boolean;
  mediaSequence: number;
  segments: ParsedSegment[];
  preloadHint: string | undefined;
  skipped: number;
  ended: boolean;
}

const attributes = (text: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g))
    out[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  return out;
};

export function parseMediaPlaylist(text: string): ParsedPlaylist {
  const lines = text.split('\n');
  if (lines[0] !== '#EXTM3U') throw new Error('not a playlist: no #EXTM3U first');
  const out: ParsedPlaylist = {
    version: undefined,
    targetDuration: NaN,
    partTarget: undefined,
    partHoldBack: undefined,
    canSkipUntil: undefined,
    canBlockReload: false,
    mediaSequence: 0,
    segments: [],
    preloadHint: undefined,
    skipped: 0,
    ended: false,
  };
  let open: ParsedSegment | undefined;
  const current = (): ParsedSegment =>
    (open ??= {
      msn: out.mediaSequence + out.skipped + out.segments.length,
      duration: undefined,
      uri: undefined,
      parts: [],
      discontinuity: false,
    });
  let duration: number | undefined;
  for (const line of lines.slice(1)) {
    const [tag, value = ''] = line.split(/:(.*)/s);
    if (tag === '#EXT-X-VERSION') out.version = Number(value);
    else if (tag === '#EXT-X-TARGETDURATION') out.targetDuration = Number(value);
    else if (tag === '#EXT-X-MEDIA-SEQUENCE') out.mediaSequence = Number(value);
    else if (tag === '#EXT-X-PART-INF') out.partTarget = Number(attributes(value)['PART-TARGET']);
    else if (tag === '#EXT-X-SERVER-CONTROL') {
      const a = attributes(value);
      out.canBlockReload = a['CAN-BLOCK-RELOAD'] === 'YES';
      if (a['PART-HOLD-BACK']) out.partHoldBack = Number(a['PART-HOLD-BACK']);
      if (a['CAN-SKIP-UNTIL']) out.canSkipUntil = Number(a['CAN-SKIP-UNTIL']);
    } else if (tag === '#EXT-X-SKIP') out.skipped = Number(attributes(value)['SKIPPED-SEGMENTS']);
    else if (tag === '#EXT-X-DISCONTINUITY') current().discontinuity = true;
    else if (tag === '#EXT-X-PART') {
      const a = attributes(value);
      current().parts.push({
        duration: Number(a.DURATION),
        uri: a.URI!,
        independent: a.INDEPENDENT === 'YES',
      });
    } else if (tag === '#EXT-X-PRELOAD-HINT') out.preloadHint = attributes(value).URI;
    else if (tag === '#EXT-X-ENDLIST') out.ended = true;
    else if (tag === '#EXTINF') duration = Number(value.split(',')[0]);
    else if (line !== '' && !line.startsWith('#')) {
      const segment = current();
      segment.uri = line;
      segment.duration = duration;
      out.segments.push(segment);
      open = undefined;
      duration = undefined;
    }
  }
  if (open) out.segments.push(open);
  return out;
}

/** The rules a live LL-HLS media playlist breaks; empty when none. */
export function llHlsViolations(text: string): string[] {
  const broken: string[] = [];
  const p = parseMediaPlaylist(text);
  const fail = (why: string) => broken.push(why);
  if (!Number.isInteger(p.targetDuration) || p.targetDuration < 1)
    fail(`EXT-X-TARGETDURATION ${p.targetDuration} is not a positive integer`);
  if (p.partTarget === undefined) fail('no EXT-X-PART-INF');
  if (!p.canBlockReload) fail('EXT-X-SERVER-CONTROL lacks CAN-BLOCK-RELOAD=YES');
  if (
    p.partHoldBack === undefined ||
    p.partTarget === undefined ||
    p.partHoldBack < 2 * p.partTarget
  )
    fail(`PART-HOLD-BACK ${p.partHoldBack} is under twice PART-TARGET ${p.partTarget}`);
  if (p.canSkipUntil !== undefined && p.canSkipUntil < 6 * p.targetDuration)
    fail(`CAN-SKIP-UNTIL ${p.canSkipUntil} is under six target durations`);
  if ((p.version ?? 1) < 9 && p.canSkipUntil !== undefined)
    fail('CAN-SKIP-UNTIL needs EXT-X-VERSION 9');
  const complete = p.segments.filter((s) => s.uri !== undefined);
  for (const s of complete) {
    if (s.duration === undefined) fail(`segment ${s.msn} has no EXTINF`);
    else if (Math.round(s.duration) > p.targetDuration)
      fail(`segment ${s.msn} lasts ${s.duration} s, over TARGETDURATION ${p.targetDuration}`);
  }
  if (p.segments.length > complete.length + 1) fail('more than one segment in progress');
  p.segments.forEach((s, index) => {
    // A segment cut short (the stream ended, a discontinuity follows) may end with short parts.
    const cutShort =
      (p.ended && index === p.segments.length - 1) || p.segments[index + 1]?.discontinuity === true;
    const sum = s.parts.reduce((n, part) => n + part.duration, 0);
    s.parts.forEach((part, i) => {
      if (p.partTarget !== undefined && part.duration > p.partTarget + 1e-6)
        fail(`part ${part.uri} lasts ${part.duration} s, over PART-TARGET ${p.partTarget}`);
      // §4.4.4.9: every part but the last of its segment is at least 85% of PART-TARGET.
      if (p.partTarget !== undefined && i < s.parts.length - 1 && s.uri !== undefined && !cutShort)
        if (part.duration < 0.85 * p.partTarget - 1e-6)
          fail(`part ${part.uri} lasts ${part.duration} s, under 85% of PART-TARGET`);
    });
    if (s.uri !== undefined && s.parts.length > 0 && Math.abs(sum - s.duration!) > 0.002)
      fail(`segment ${s.msn}: its parts sum to ${sum} s, its EXTINF says ${s.duration}`);
    if (s.parts.length > 0 && s.uri !== undefined && !s.parts[0]!.independent)
      fail(`segment ${s.msn} does not start with an independent part`);
  });
  if (!p.ended && p.preloadHint === undefined) fail('a live playlist without EXT-X-PRELOAD-HINT');
  // §6.2.2: parts are listed for the last segments, at least the newest.
  if (!p.ended && (p.segments.at(-1)?.parts.length ?? 0) === 0) fail('no parts on the live edge');
  return broken;
}
