import type { Logger } from '../../log/logger.js';
import type { LiveStream } from '../../media/live-stream.js';
import type { AccessUnit, MediaUnit } from '../../media/media-unit.js';
import type { EndReason } from '../../core/end-reasons.js';
import { initSegment } from '../../formats/cmaf/init-segment.js';
import { fragment } from '../../formats/cmaf/fragment.js';
import type { CmafRun, CmafTrack } from '../../formats/cmaf/cmaf-track.js';
import { renderMasterPlaylist } from '../../formats/hls/master-playlist.js';
import type { OutputHooks, StreamOutput } from '../output-manager.js';
import { StreamClock, TrackClock, type TimedSample } from './track-clock.js';
import { Segmenter, type ClosedPart } from './segmenter.js';
import { RenditionWindow, type WindowPosition, type WindowSnapshot } from './rendition-window.js';
import { streamTracks, type StreamTracks } from './stream-tracks.js';
import type { PackagedMedia } from './packaged-media.js';

export interface PackagerDeps {
  media: PackagedMedia;
  /** The rendition's name: its playlist is `<name>.m3u8` (the copy rendition's, `copy`). */
  rendition: string;
  partTargetSec: number;
  segmentTargetSec: number;
  playlistSize: number;
  hooks: OutputHooks;
  log: Logger;
  /** Numbering to go on from: the stream's previous run here, so that no file name is reused. */
  start?: WindowPosition | undefined;
  /** The previous process's window of this stream (a restart while it was live): continued. */
  window?: RenditionWindow | undefined;
  /** Keeps the window for the next process when Stagedoor stops with the publisher live. */
  keep?:
    | {
        save(snapshot: WindowSnapshot, master: string | undefined): Promise<void>;
        remove(): Promise<void>;
      }
    | undefined;
  now?: () => number;
}

type State = 'waiting' | 'running' | 'ending' | 'ended';

/**
 * A passthrough stream packaged in this process: the publisher's H.264/AAC access units become
 * CMAF init segments, parts and segments in memory, with an LL-HLS playlist. No FFmpeg runs and
 * nothing is written to disk.
 */
export class Packager implements StreamOutput {
  readonly id: string;
  readonly kind = 'packager' as const;
  readonly process = undefined;
  readonly warnings: string[] = [];
  readonly #stream: LiveStream;
  readonly #deps: PackagerDeps;
  readonly #log: Logger;
  readonly #window: RenditionWindow;
  #state: State = 'waiting';
  #tracks: StreamTracks | undefined;
  #configs: { video: Buffer | undefined; audio: Buffer | undefined } = {
    video: undefined,
    audio: undefined,
  };
  readonly #clock = new StreamClock();
  #videoClock: TrackClock | undefined;
  #audioClock: TrackClock | undefined;
  #segmenter: Segmenter | undefined;
  #fragments = 1;
  #masterWritten = false;
  #stopped: Promise<void> | undefined;
  #master: string | undefined;
  #segmentBytes = 0;
  /** Video before the first key frame (or after a new publisher, before its first) is dropped. */
  #waitingForKey = true;

  constructor(stream: LiveStream, deps: PackagerDeps) {
    this.#stream = stream;
    this.#deps = deps;
    this.id = `packager:${stream.key}`;
    this.#log = deps.log.child({ component: 'packager', stream: stream.key });
    this.#window =
      deps.window ??
      new RenditionWindow({
        name: deps.rendition,
        partTargetSec: deps.partTargetSec,
        segmentTargetSec: deps.segmentTargetSec,
        playlistSize: deps.playlistSize,
        extraSegments: 2,
        start: deps.start,
        now: deps.now,
      });
    this.#master = deps.window ? deps.media.masterOf(stream.path) : undefined;
    if (deps.window) {
      // Its master stays what the previous process wrote; viewers go on from its last segment.
      this.#masterWritten = true;
      this.#log.info(
        { event: 'packager_resumed', nextMsn: deps.window.position.nextMsn },
        "packager continues the previous process's playlist",
      );
    }
  }

  get state(): State {
    return this.#state;
  }

  get position(): WindowPosition {
    return this.#window.position;
  }

  lastSegmentAt(): number | undefined {
    return this.#window.lastSegmentAt;
  }

  begin(after: Promise<unknown>): Promise<void> {
    return after.then(() => {
      this.#deps.media.register(this.#stream.path, this, this.#window);
    });
  }

  deliver(unit: MediaUnit): void {
    if (unit.kind !== 'access-unit' || this.#state === 'ending' || this.#state === 'ended') return;
    try {
      this.#deliver(unit);
    } catch (error) {
      // A unit the packager cannot take must not take the publisher's connection down with it.
      this.#log.error({ err: error, event: 'packager_failed' }, 'the packager failed on a unit');
      this.#warn(`the packager failed: ${(error as Error).message}`);
      this.#flushQuietly();
      this.#waitingForKey = true;
    }
  }

  #flushQuietly(): void {
    try {
      this.#flush();
    } catch {
      /* the next key frame starts afresh */
    }
  }

  #deliver(unit: AccessUnit): void {
    if (unit.config) return this.#configure(unit);
    if (!this.#segmenter) this.#configure(undefined);
    const segmenter = this.#segmenter;
    if (!segmenter) return;
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
    this.#state = 'running';
  }

  end(reason: EndReason): void {
    void this.stop(reason);
  }

  /** A new publisher: its media follows on the same timeline, after a discontinuity. */
  restartForNewPublisher(): void {
    if (this.#state === 'ending' || this.#state === 'ended') return;
    this.#flushQuietly();
    this.#configs = { video: undefined, audio: undefined };
    this.#waitingForKey = true;
  }

  /** Stops once; every later call waits for that stop (a shutdown's kept window included). */
  stop(reason: EndReason | 'shutdown'): Promise<void> {
    this.#stopped ??= this.#stop(reason);
    return this.#stopped;
  }

  async #stop(reason: EndReason | 'shutdown'): Promise<void> {
    this.#state = 'ending';
    this.#flushQuietly();
    // Stagedoor stopping with the publisher live leaves the playlist open for the next process.
    if (reason !== 'shutdown') this.#window.end();
    else if (this.#deps.keep && this.#window.ready)
      await this.#deps.keep
        .save(this.#window.snapshot(), this.#master)
        .catch((error: unknown) =>
          this.#log.error(
            { err: error },
            'the packaged window could not be kept for the next process',
          ),
        );
    this.#state = 'ended';
    this.#log.info({ event: 'packager_stopped', reason }, 'packager stopped');
  }

  async removeFiles(): Promise<void> {
    this.#deps.media.unregister(this.#stream.path, this);
    this.#window.remove();
    await this.#deps.keep?.remove();
  }

  // Container publishers (WebM, MP4 over WebSocket) go to FFmpeg: the packager takes units only.
  startRaw(): Promise<void> {
    return Promise.reject(new Error('the packager takes access units, not container bytes'));
  }

  writeRaw(): 'ok' {
    return 'ok';
  }

  onceDrained(listener: () => void): void {
    listener();
  }

  /** Decoder configurations: the first ones set the tracks up; different ones start a new init segment. */
  #configure(unit: AccessUnit | undefined): void {
    if (unit) {
      const previous = this.#configs[unit.track];
      if (previous?.equals(unit.payload)) return;
      this.#configs[unit.track] = unit.payload;
      // The tracks are set up with the first media unit; a later change restarts them.
      if (!this.#segmenter) return;
    }
    const headers = this.#stream.headers;
    const made = streamTracks({
      metadata: headers.metadata,
      video: unit?.track === 'video' ? unit : headers.video,
      audio: unit?.track === 'audio' ? unit : headers.audio,
    });
    if ('refused' in made) {
      this.#warn(`the packager cannot take this stream: ${made.refused}`);
      return;
    }
    if (this.#segmenter) {
      this.#flush();
      // The segment after the discontinuity must start on a key frame (independent segments).
      if (made.video) this.#waitingForKey = true;
    }
    this.#tracks = made;
    this.#configs = {
      video: made.video ? Buffer.from(made.video.config) : undefined,
      audio: made.audio ? Buffer.from(made.audio.config) : undefined,
    };
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
        partTargetSec: this.#deps.partTargetSec,
        segmentTargetSec: this.#deps.segmentTargetSec,
        leadTimescale: lead.timescale,
        leadTrack: lead.kind,
      },
      { part: (part) => this.#part(part), segmentEnd: () => this.#segmentEnd() },
    );
    this.#window.setInit(initSegment([made.video, made.audio].filter((t) => t !== undefined)));
    this.#log.info(
      {
        event: 'packager_tracks',
        codecs: made.codecs,
        width: made.video?.width,
        height: made.video?.height,
      },
      'packaging the stream',
    );
  }

  #take(sample: TimedSample | undefined): void {
    if (sample) this.#segmenter!.take(sample);
  }

  /** Lets every held sample go and closes the segment (a codec change, a new publisher, the end). */
  #flush(): void {
    this.#take(this.#videoClock?.flush());
    this.#take(this.#audioClock?.flush());
    this.#segmenter?.endSegment();
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
    if (!this.#masterWritten && this.#window.ready) {
      this.#masterWritten = true;
      const seconds = Math.max(0.5, this.#window.lastSegmentDuration ?? 1);
      const tracks = this.#tracks!;
      this.#master = renderMasterPlaylist([
        {
          uri: `${this.#deps.rendition}.m3u8`,
          // The first segment's rate with headroom: BANDWIDTH is a peak (RFC 8216bis §4.4.6.2).
          bandwidth: Math.max(64_000, ((this.#segmentBytes * 8) / seconds) * 1.5),
          width: tracks.video?.width || undefined,
          height: tracks.video?.height || undefined,
          codecs: tracks.codecs,
        },
      ]);
      this.#deps.media.setMaster(this.#stream.path, this, this.#master);
      const publisher = this.#stream.publisher;
      if (publisher)
        this.#deps.hooks.onPlayable(this.#stream.key, Date.now() - publisher.startedAt);
    }
    this.#segmentBytes = 0;
  }

  #warn(warning: string): void {
    if (this.warnings.includes(warning)) return;
    this.warnings.push(warning);
    this.#log.warn({ event: 'packager_refused' }, warning);
  }
}
