import type { Logger } from '../../log/logger.js';
import type { LiveStream } from '../../media/live-stream.js';
import type { MediaUnit } from '../../media/media-unit.js';
import type { EndReason } from '../../core/end-reasons.js';
import { renderMasterPlaylist } from '../../formats/hls/master-playlist.js';
import type { OutputHooks, StreamOutput } from '../output-manager.js';
import { RenditionWindow, type WindowPosition, type WindowSnapshot } from './rendition-window.js';
import { RenditionPackager } from './rendition-packager.js';
import type { StreamTracks } from './stream-tracks.js';
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
        save(snapshots: WindowSnapshot[], master: string | undefined): Promise<void>;
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
  readonly #rendition: RenditionPackager;
  #state: State = 'waiting';
  #masterWritten = false;
  #stopped: Promise<void> | undefined;
  #master: string | undefined;

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
    this.#rendition = new RenditionPackager({
      window: this.#window,
      partTargetSec: deps.partTargetSec,
      segmentTargetSec: deps.segmentTargetSec,
      log: this.#log,
      onSegment: (bytes, tracks) => this.#segmentEnd(bytes, tracks),
      onRefused: (why) => this.#warn(`the packager cannot take this stream: ${why}`),
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
      this.#deps.media.register(this.#stream.path, this, [this.#window]);
    });
  }

  deliver(unit: MediaUnit): void {
    if (this.#state === 'ending' || this.#state === 'ended') return;
    try {
      this.#rendition.deliver(unit);
      if (unit.kind === 'access-unit' && !unit.config && this.#rendition.tracks)
        this.#state = 'running';
    } catch (error) {
      // A unit the packager cannot take must not take the publisher's connection down with it.
      this.#log.error({ err: error, event: 'packager_failed' }, 'the packager failed on a unit');
      this.#warn(`the packager failed: ${(error as Error).message}`);
      this.#rendition.resync();
    }
  }

  end(reason: EndReason): void {
    void this.stop(reason);
  }

  /** A new publisher: its media follows on the same timeline, after a discontinuity. */
  restartForNewPublisher(): void {
    if (this.#state === 'ending' || this.#state === 'ended') return;
    this.#rendition.restart();
  }

  /** Stops once; every later call waits for that stop (a shutdown's kept window included). */
  stop(reason: EndReason | 'shutdown'): Promise<void> {
    this.#stopped ??= this.#stop(reason);
    return this.#stopped;
  }

  async #stop(reason: EndReason | 'shutdown'): Promise<void> {
    this.#state = 'ending';
    this.#rendition.flushQuietly();
    // Stagedoor stopping with the publisher live leaves the playlist open for the next process.
    if (reason !== 'shutdown') this.#window.end();
    else if (this.#deps.keep && this.#window.ready)
      await this.#deps.keep
        .save([this.#window.snapshot()], this.#master)
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

  #segmentEnd(segmentBytes: number, tracks: StreamTracks): void {
    if (this.#masterWritten || !this.#window.ready) return;
    this.#masterWritten = true;
    const seconds = Math.max(0.5, this.#window.lastSegmentDuration ?? 1);
    this.#master = renderMasterPlaylist([
      {
        uri: `${this.#deps.rendition}.m3u8`,
        // The first segment's rate with headroom: BANDWIDTH is a peak (RFC 8216bis §4.4.6.2).
        bandwidth: Math.max(64_000, ((segmentBytes * 8) / seconds) * 1.5),
        width: tracks.video?.width || undefined,
        height: tracks.video?.height || undefined,
        codecs: tracks.codecs,
      },
    ]);
    this.#deps.media.setMaster(this.#stream.path, this, this.#master);
    const publisher = this.#stream.publisher;
    if (publisher) this.#deps.hooks.onPlayable(this.#stream.key, Date.now() - publisher.startedAt);
  }

  #warn(warning: string): void {
    if (this.warnings.includes(warning)) return;
    this.warnings.push(warning);
    this.#log.warn({ event: 'packager_refused' }, warning);
  }
}
