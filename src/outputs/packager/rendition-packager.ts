import type { Logger } from '../../log/logger.js';
import type { AccessUnit, MediaUnit, StreamMetadata } from '../../media/media-unit.js';
import { initSegment } from '../../formats/cmaf/init-segment.js';
import { fragment } from '../../formats/cmaf/fragment.js';
import type { CmafRun, CmafTrack } from '../../formats/cmaf/cmaf-track.js';
import { StreamClock, TrackClock, type TimedSample } from './track-clock.js';
import { Segmenter, type ClosedPart } from './segmenter.js';
import type { RenditionWindow } from './rendition-window.js';
import { streamTracks, type StreamTracks } from './stream-tracks.js';

export interface RenditionPackagerOptions {
  window: RenditionWindow;
  partTargetSec: number;
  segmentTargetSec: number;
  log: Logger;
  /** A segment was closed: its bytes, and the tracks it carries. */
  onSegment?: (segmentBytes: number, tracks: StreamTracks) => void;
  /** Why units cannot be packaged (an unsupported codec): said once per reason. */
  onRefused?: (why: string) => void;
}

interface Headers {
  metadata: StreamMetadata | null;
  video: AccessUnit | null;
  audio: AccessUnit | null;
}

/**
 * One rendition's access units (the publisher's, or one FFmpeg output's) made into CMAF: an init
 * segment per decoder configuration, parts and segments in its window. It keeps its own decoder
 * configurations from the units it is given, so it needs nothing of the stream they came from.
 */
export class RenditionPackager {
  readonly #options: RenditionPackagerOptions;
  readonly #window: RenditionWindow;
  #headers: Headers = { metadata: null, video: null, audio: null };
  #tracks: StreamTracks | undefined;
  readonly #clock = new StreamClock();
  #videoClock: TrackClock | undefined;
  #audioClock: TrackClock | undefined;
  #segmenter: Segmenter | undefined;
  /** Set up again at the next media unit: a new source whose configurations are arriving. */
  #reconfigure = true;
  #fragments = 1;
  #segmentBytes = 0;
  /** Video before the first key frame (or after a new source, before its first) is dropped. */
  #waitingForKey = true;

  constructor(options: RenditionPackagerOptions) {
    this.#options = options;
    this.#window = options.window;
  }

  get tracks(): StreamTracks | undefined {
    return this.#tracks;
  }

  /** Takes one unit; throws on one it cannot make into CMAF (its caller decides what follows). */
  deliver(unit: MediaUnit): void {
    if (unit.kind === 'metadata') {
      this.#headers.metadata = unit;
      return;
    }
    if (unit.config) return this.#configured(unit);
    if (this.#reconfigure) this.#configure();
    if (!this.#segmenter) return;
    if (unit.track === 'video') {
      if (!this.#videoClock) return;
      if (this.#waitingForKey && !unit.key) return;
      this.#waitingForKey = false;
      this.#take(this.#videoClock.push(unit));
    } else if (this.#audioClock) {
      // Audio waits for the video's first key frame, so that the first part starts with it.
      if (this.#videoClock && this.#waitingForKey) return;
      this.#take(this.#audioClock.push(unit));
    }
  }

  /**
   * A new source follows on the same timeline after a discontinuity (a new publisher, a restarted
   * FFmpeg): the segment is closed, and its decoder configurations are awaited afresh.
   */
  restart(): void {
    this.flushQuietly();
    this.#headers = { metadata: null, video: null, audio: null };
    this.#reconfigure = true;
    this.#waitingForKey = true;
  }

  /** Lets every held sample go and closes the segment (a codec change, a new source, the end). */
  flush(): void {
    this.#take(this.#videoClock?.flush());
    this.#take(this.#audioClock?.flush());
    this.#segmenter?.endSegment();
  }

  /** As `flush`, after a failure: the next key frame starts afresh whatever this throws. */
  flushQuietly(): void {
    try {
      this.flush();
    } catch {
      /* the next key frame starts afresh */
    }
  }

  /** After a unit failed: drop video until the next key frame. */
  resync(): void {
    this.flushQuietly();
    this.#waitingForKey = true;
  }

  /** A decoder configuration: recorded; one that differs mid-stream starts a new init segment. */
  #configured(unit: AccessUnit): void {
    const previous = this.#headers[unit.track];
    this.#headers[unit.track] = unit;
    if (previous?.payload.equals(unit.payload) || this.#reconfigure) return;
    this.#configure();
  }

  #configure(): void {
    const made = streamTracks(this.#headers);
    if ('refused' in made) {
      // Nothing more is packaged until configurations it can take arrive.
      if (this.#segmenter) this.flushQuietly();
      this.#segmenter = undefined;
      this.#waitingForKey = true;
      this.#options.onRefused?.(made.refused);
      return;
    }
    this.#reconfigure = false;
    if (this.#segmenter) {
      this.flush();
      // The segment after the discontinuity must start on a key frame (independent segments).
      if (made.video) this.#waitingForKey = true;
    }
    this.#tracks = made;
    this.#videoClock = made.video
      ? new TrackClock(this.#clock, {
          timescale: made.video.timescale,
          defaultDuration: Math.round(made.video.timescale / 30),
        })
      : undefined;
    this.#audioClock = made.audio
      ? new TrackClock(this.#clock, {
          timescale: made.audio.timescale,
          fixedDuration: made.audio.samplesPerFrame,
          defaultDuration: made.audio.samplesPerFrame,
        })
      : undefined;
    const lead = made.video ?? made.audio!;
    this.#segmenter = new Segmenter(
      {
        partTargetSec: this.#options.partTargetSec,
        segmentTargetSec: this.#options.segmentTargetSec,
        leadTimescale: lead.timescale,
        leadTrack: lead.kind,
      },
      { part: (part) => this.#part(part), segmentEnd: () => this.#segmentEnd() },
    );
    this.#window.setInit(initSegment([made.video, made.audio].filter((t) => t !== undefined)));
    this.#options.log.info(
      {
        event: 'packager_tracks',
        rendition: this.#window.name,
        codecs: made.codecs,
        width: made.video?.width,
        height: made.video?.height,
      },
      'packaging the rendition',
    );
  }

  #take(sample: TimedSample | undefined): void {
    if (sample) this.#segmenter!.take(sample);
  }

  #part(part: ClosedPart): void {
    const tracks = this.#tracks!;
    const runs: CmafRun[] = [];
    const run = (track: CmafTrack | undefined, samples: TimedSample[]) => {
      if (!track || samples.length === 0) return;
      runs.push({
        track,
        baseDecodeTime: samples[0]!.decodeTime,
        samples: samples.map((s) => ({
          duration: s.duration,
          compositionOffset: s.compositionOffset,
          sync: s.unit.track === 'audio' || s.unit.key,
          data: s.unit.payload,
        })),
      });
    };
    run(tracks.video, part.video);
    run(tracks.audio, part.audio);
    const bytes = fragment(this.#fragments++, runs);
    this.#segmentBytes += bytes.length;
    this.#window.addPart(bytes, part.duration, part.independent);
  }

  #segmentEnd(): void {
    this.#window.endSegment();
    const bytes = this.#segmentBytes;
    this.#segmentBytes = 0;
    this.#options.onSegment?.(bytes, this.#tracks!);
  }
}
