import { StagedoorError } from '../../errors.js';
import {
  renderMediaPlaylist,
  type MediaPlaylist,
  type PlaylistSegment,
  type RenditionReport,
} from '../../formats/hls/media-playlist.js';

// One rendition's live window in memory: its init segments, the last complete segments and their
// parts, the segment being made, and the playlist that lists them. Requests that wait (a blocking
// playlist reload, a preload-hinted part) are woken by every change.

export interface RenditionWindowOptions {
  /** Media playlist file name, e.g. `copy`: files are `copy.m3u8`, `copy_s12.m4s`, `copy_p40.m4s`. */
  name: string;
  partTargetSec: number;
  segmentTargetSec: number;
  /** Complete segments the playlist lists. */
  playlistSize: number;
  /** Segments kept past the playlist for players that are behind. */
  extraSegments: number;
  /** Numbering to continue (a restart, a new publisher after a stop). */
  start?: WindowPosition | undefined;
  now?: () => number;
}

/** Where a window's numbering stands, to carry on from. */
export interface WindowPosition {
  nextMsn: number;
  nextPartId: number;
  discontinuitySequence: number;
  nextInit: number;
}

interface Part {
  id: number;
  uri: string;
  duration: number;
  independent: boolean;
  bytes: Uint8Array;
}

interface Segment {
  msn: number;
  uri: string;
  map: string;
  discontinuity: boolean;
  programDateTime: number;
  parts: Part[];
  duration: number;
  bytes: Uint8Array | undefined;
}

/** A window as it is kept across a restart of Stagedoor: its numbering, segments and init segments. */
export interface WindowSnapshot {
  name: string;
  position: WindowPosition;
  discontinuitySequence: number;
  targetDuration: number;
  map: string | undefined;
  inits: Array<{ uri: string; bytes: string }>;
  segments: Array<{
    msn: number;
    map: string;
    discontinuity: boolean;
    programDateTime: number;
    duration: number;
    parts: Array<{ id: number; duration: number; independent: boolean; length: number }>;
    /** base64 */
    bytes: string;
  }>;
}

/** A wait's condition, checked on every change; resolve or reject it when it is met. */
type Waiter = () => void;

export class RenditionWindow {
  readonly name: string;
  readonly #options: RenditionWindowOptions;
  readonly #now: () => number;
  readonly #segments: Segment[] = [];
  #current: Segment | undefined;
  readonly #inits = new Map<string, Uint8Array>();
  #map: string | undefined;
  #nextMsn: number;
  #nextPartId: number;
  #discontinuitySequence: number;
  #nextInit: number;
  #pendingDiscontinuity: boolean;
  #targetDuration: number;
  #ended = false;
  #gone = false;
  #version = 0;
  #rendered: { version: string; full: string; delta: string | undefined } | undefined;
  /** The stream's other renditions, reported in this one's playlist. */
  #siblings: RenditionWindow[] = [];
  readonly #waiters = new Set<Waiter>();
  /** When the newest segment was completed (ms since the epoch). */
  lastSegmentAt: number | undefined;

  constructor(options: RenditionWindowOptions) {
    this.name = options.name;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#nextMsn = options.start?.nextMsn ?? 0;
    this.#nextPartId = options.start?.nextPartId ?? 0;
    this.#discontinuitySequence = options.start?.discontinuitySequence ?? 0;
    this.#nextInit = options.start?.nextInit ?? 0;
    // Carrying on from an earlier run: players must reset their decoders at the join.
    this.#pendingDiscontinuity = options.start !== undefined;
    this.#targetDuration = Math.max(1, Math.ceil(options.segmentTargetSec));
  }

  get position(): WindowPosition {
    return {
      nextMsn: this.#current ? this.#current.msn + 1 : this.#nextMsn,
      nextPartId: this.#nextPartId,
      // The next run's playlist lists none of these: their discontinuities are counted.
      discontinuitySequence:
        this.#discontinuitySequence +
        [...this.#listed(), ...(this.#current ? [this.#current] : [])].filter(
          (s) => s.discontinuity,
        ).length,
      nextInit: this.#nextInit,
    };
  }

  /** What the next process needs to go on serving this window and continue it. */
  snapshot(): WindowSnapshot {
    return {
      name: this.name,
      position: this.position,
      discontinuitySequence: this.#discontinuitySequence,
      targetDuration: this.#targetDuration,
      map: this.#map,
      inits: [...this.#inits].map(([uri, bytes]) => ({
        uri,
        bytes: Buffer.from(bytes).toString('base64'),
      })),
      segments: this.#segments.map((s) => ({
        msn: s.msn,
        map: s.map,
        discontinuity: s.discontinuity,
        programDateTime: s.programDateTime,
        duration: s.duration,
        parts: s.parts.map((p) => ({
          id: p.id,
          duration: p.duration,
          independent: p.independent,
          length: p.bytes.length,
        })),
        bytes: Buffer.from(s.bytes!).toString('base64'),
      })),
    };
  }

  /** A window of the previous process, served as it was and continued after a discontinuity. */
  static restore(
    snapshot: WindowSnapshot,
    options: Omit<RenditionWindowOptions, 'name' | 'start'>,
  ): RenditionWindow {
    const window = new RenditionWindow({
      ...options,
      name: snapshot.name,
      start: snapshot.position,
    });
    window.#discontinuitySequence = snapshot.discontinuitySequence;
    window.#targetDuration = Math.max(window.#targetDuration, snapshot.targetDuration);
    for (const init of snapshot.inits)
      window.#inits.set(init.uri, Buffer.from(init.bytes, 'base64'));
    window.#map = snapshot.map;
    for (const s of snapshot.segments) {
      const bytes = Buffer.from(s.bytes, 'base64');
      let at = 0;
      const parts = s.parts.map((p) => {
        const part = {
          id: p.id,
          uri: `${snapshot.name}_p${p.id}.m4s`,
          duration: p.duration,
          independent: p.independent,
          bytes: bytes.subarray(at, at + p.length),
        };
        at += p.length;
        return part;
      });
      window.#segments.push({
        msn: s.msn,
        uri: `${snapshot.name}_s${s.msn}.m4s`,
        map: s.map,
        discontinuity: s.discontinuity,
        programDateTime: s.programDateTime,
        parts,
        duration: s.duration,
        bytes,
      });
    }
    window.lastSegmentAt = window.#now();
    return window;
  }

  /** A playlist can be served: at least one segment is complete. */
  get ready(): boolean {
    return this.#segments.length > 0;
  }

  /** Seconds of the newest complete segment. */
  get lastSegmentDuration(): number | undefined {
    return this.#segments.at(-1)?.duration;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Bytes held (segments, parts, init segments), for the memory figures. */
  get heldBytes(): number {
    let total = 0;
    for (const init of this.#inits.values()) total += init.length;
    for (const segment of [...this.#segments, ...(this.#current ? [this.#current] : [])])
      total += segment.bytes?.length ?? segment.parts.reduce((n, p) => n + p.bytes.length, 0);
    return total;
  }

  /** A new init segment (the first, or the codecs changed): the next segment starts with it. */
  setInit(bytes: Uint8Array): void {
    const uri = `${this.name}_init${this.#nextInit++}.mp4`;
    // Replaced before any segment used it (audio and video configurations arriving one by one).
    const previous = this.#map;
    if (
      previous !== undefined &&
      ![...this.#segments, this.#current].some((s) => s?.map === previous)
    )
      this.#inits.delete(previous);
    this.#inits.set(uri, bytes);
    if (this.#map !== undefined) this.#pendingDiscontinuity = true;
    this.#map = uri;
  }

  addPart(bytes: Uint8Array, duration: number, independent: boolean): void {
    if (this.#ended || this.#map === undefined) return;
    if (!this.#current) {
      this.#current = {
        msn: this.#nextMsn++,
        uri: '',
        map: this.#map,
        discontinuity: this.#pendingDiscontinuity,
        programDateTime: this.#now() - duration * 1000,
        parts: [],
        duration: 0,
        bytes: undefined,
      };
      this.#pendingDiscontinuity = false;
    }
    const id = this.#nextPartId++;
    this.#current.parts.push({ id, uri: `${this.name}_p${id}.m4s`, duration, independent, bytes });
    this.#current.duration += duration;
    this.#changed();
  }

  /** The parts since the last call are a segment. */
  endSegment(): void {
    const segment = this.#current;
    if (!segment) return;
    this.#current = undefined;
    segment.uri = `${this.name}_s${segment.msn}.m4s`;
    // One copy of the bytes: the segment, with its parts as views into it.
    const bytes = Buffer.concat(segment.parts.map((p) => p.bytes));
    let at = 0;
    for (const part of segment.parts) {
      part.bytes = bytes.subarray(at, at + part.bytes.length);
      at += part.bytes.length;
    }
    segment.bytes = bytes;
    this.#segments.push(segment);
    // A segment scrolling out of the playlist takes its discontinuity into the count (§4.4.3.3).
    if (this.#segments[this.#segments.length - 1 - this.#options.playlistSize]?.discontinuity)
      this.#discontinuitySequence++;
    // TARGETDURATION only grows: a longer GOP than the target makes longer segments (§4.4.3.1).
    this.#targetDuration = Math.max(this.#targetDuration, Math.round(segment.duration));
    const keep = this.#options.playlistSize + this.#options.extraSegments;
    while (this.#segments.length > keep) this.#drop(this.#segments.shift()!);
    this.lastSegmentAt = this.#now();
    this.#changed();
  }

  /** The stream ended: the playlist says so (EXT-X-ENDLIST) and waits end. */
  end(): void {
    this.endSegment();
    this.#ended = true;
    this.#changed();
  }

  /** Reports where the stream's other renditions stand in this one's playlist (a ladder). */
  reportOn(windows: readonly RenditionWindow[]): void {
    this.#siblings = windows.filter((w) => w !== this);
    this.#changed();
  }

  /** This rendition's last part, as another rendition's playlist reports it. */
  #report(): RenditionReport | undefined {
    if (!this.ready) return undefined;
    const current = this.#current;
    const last = current && current.parts.length > 0 ? current : this.#segments.at(-1)!;
    return {
      uri: `${this.name}.m3u8`,
      lastMsn: last.msn,
      lastPart: last.parts.length > 0 ? last.parts.length - 1 : undefined,
    };
  }

  /** Forgotten (its files are removed): waiting requests get NOT_FOUND. */
  remove(): void {
    this.#gone = true;
    this.#changed();
  }

  /** The playlist's text (`skip`: a delta update), once `at` exists when given. */
  async playlist(request: {
    at?: { msn: number; part?: number | undefined };
    skip?: boolean;
    signal?: AbortSignal;
  }): Promise<string> {
    const at = request.at;
    if (at) {
      // §6.2.5.2: more than two segments past the playlist's last one is answered 400 at once.
      const last = this.#current?.msn ?? this.#nextMsn - 1;
      if (at.msn > last + 2)
        throw new StagedoorError(
          'HLS_REQUEST_INVALID',
          `_HLS_msn=${at.msn} is more than two segments past the playlist's last (${last})`,
        );
      await this.#wait(() => this.ready && this.#has(at.msn, at.part), request.signal);
    } else await this.#wait(() => this.ready, request.signal);
    // Ended before its first segment: there is no playlist to give.
    if (!this.ready) throw new StagedoorError('NOT_FOUND');
    return this.#render(request.skip === true);
  }

  /** A segment, part or init segment; the preload-hinted part is waited for. */
  async media(file: string, signal?: AbortSignal): Promise<Uint8Array> {
    const init = this.#inits.get(file);
    if (init) return init;
    const match = /_(s|p)(\d+)\.m4s$/.exec(file);
    if (!match || !file.startsWith(`${this.name}_`)) throw new StagedoorError('NOT_FOUND');
    const n = Number(match[2]);
    if (match[1] === 's') {
      const segment = this.#segments.find((s) => s.msn === n);
      if (!segment?.bytes) throw new StagedoorError('NOT_FOUND');
      return segment.bytes;
    }
    if (n === this.#nextPartId && !this.#ended) {
      // A blocking preload hint (§6.2.6): answered once the part exists.
      await this.#wait(() => this.#nextPartId > n, signal);
    }
    const part = this.#findPart(n);
    if (!part) throw new StagedoorError('NOT_FOUND');
    return part.bytes;
  }

  #has(msn: number, part: number | undefined): boolean {
    const newestComplete = this.#segments.at(-1)?.msn ?? -1;
    if (part === undefined) return newestComplete >= msn;
    if (newestComplete >= msn) return true;
    const current = this.#current;
    return (
      current !== undefined &&
      (current.msn > msn || (current.msn === msn && current.parts.length > part))
    );
  }

  #findPart(id: number): Part | undefined {
    for (const segment of [this.#current, ...this.#segments].reverse()) {
      if (!segment) continue;
      const first = segment.parts[0];
      if (first && first.id <= id && id < first.id + segment.parts.length)
        return segment.parts[id - first.id];
    }
    return undefined;
  }

  #drop(segment: Segment): void {
    if (![...this.#segments, this.#current].some((s) => s?.map === segment.map)) {
      // An init segment no listed segment needs any more.
      this.#inits.delete(segment.map);
    }
  }

  #model(): MediaPlaylist {
    const listed = this.#listed();
    const current = this.#current;
    const segments: PlaylistSegment[] = [...listed, ...(current ? [current] : [])].map((s) => ({
      msn: s.msn,
      map: s.map,
      discontinuity: s.discontinuity,
      programDateTime: s.programDateTime,
      parts: s.parts,
      uri: s.bytes ? s.uri : undefined,
      duration: s.duration,
    }));
    return {
      targetDuration: this.#targetDuration,
      partTarget: this.#options.partTargetSec,
      mediaSequence: listed[0]!.msn,
      discontinuitySequence: this.#discontinuitySequence,
      segments,
      preloadHint: this.#ended ? undefined : `${this.name}_p${this.#nextPartId}.m4s`,
      reports: this.#siblings.map((w) => w.#report()).filter((r) => r !== undefined),
      ended: this.#ended,
    };
  }

  #listed(): Segment[] {
    return this.#segments.slice(-this.#options.playlistSize);
  }

  #render(skip: boolean): string {
    // The text changes with this window and with the renditions it reports on.
    const version = [this.#version, ...this.#siblings.map((w) => w.#version)].join(',');
    if (!this.#rendered || this.#rendered.version !== version)
      this.#rendered = {
        version,
        full: renderMediaPlaylist(this.#model()),
        delta: undefined,
      };
    if (!skip) return this.#rendered.full;
    this.#rendered.delta ??= renderMediaPlaylist(this.#model(), { skip: true });
    return this.#rendered.delta;
  }

  #changed(): void {
    this.#version++;
    for (const waiter of [...this.#waiters]) waiter();
  }

  #wait(met: () => boolean, signal: AbortSignal | undefined): Promise<void> {
    if (this.#gone) return Promise.reject(new StagedoorError('NOT_FOUND'));
    if (met()) return Promise.resolve();
    if (this.#ended) return Promise.resolve(); // nothing more will come: the final playlist
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      // RFC 8216bis §6.2.5.2: not there within three target durations, the server answers 503.
      const timer = setTimeout(
        () => finish(new StagedoorError('HLS_WAIT_TIMEOUT')),
        3 * this.#targetDuration * 1000,
      );
      const onAbort = () => finish(signal!.reason);
      const finish = (error?: unknown) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const check: Waiter = () => {
        if (this.#gone) finish(new StagedoorError('NOT_FOUND'));
        else if (met() || this.#ended) finish();
      };
      this.#waiters.add(check);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
