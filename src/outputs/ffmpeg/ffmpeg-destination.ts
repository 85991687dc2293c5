import type { EndReason } from '../../core/end-reasons.js';
import type { InputTracks } from '../../media/media-unit.js';
import type { FfmpegProcess } from './ffmpeg-process.js';

/** What a run of FFmpeg reads, as the transcoder knows it when it starts one. */
export interface RunInput {
  inputFormat: 'flv' | 'matroska' | 'mp4';
  tracks: InputTracks;
  /** A copy rendition may pass the video through. */
  videoCopyable: boolean | undefined;
  probeBytes: number;
  /** Not the stream's first run here (a crash, a new publisher, a restart of Stagedoor). */
  continues: boolean;
}

/** A run as its destination follows it. */
export interface RunContext {
  readonly process: FfmpegProcess;
  /** False once another run replaced this one (or none runs). */
  isCurrent(): boolean;
  /** True while no output is expected (no publisher, media dropped until the next key frame). */
  paused(): boolean;
  /** Bytes fed to FFmpeg so far (a measured bitrate for the master playlist). */
  bytesFed(): number;
  /** The stream became playable: its master playlist exists. */
  playable(): void;
}

/**
 * Where a stream's FFmpeg puts its renditions: HLS files it writes into the stream directory
 * itself, or one FLV pipe per rendition read back and packaged in memory (LL-HLS). The transcoder
 * feeds and supervises FFmpeg; its destination says what FFmpeg writes and serves what comes out.
 */
export interface FfmpegDestination {
  /** Before the first run, once the previous output's end has settled. */
  prepare(): Promise<void>;
  /** Readies a run (its directory, its keys) and gives its output arguments and pipes. */
  nextRun(input: RunInput): Promise<{ args: string[]; outputPipes: number }>;
  /** A run was spawned: read and watch it. */
  started(run: RunContext): void;
  /** When the newest segment was made (ms since the epoch), if any is. */
  lastSegmentAt(): number | undefined;
  /** FFmpeg has stopped (finishing what it had, or killed at a shutdown that keeps the stream open). */
  stopped(reason: EndReason | 'shutdown'): Promise<void>;
  /** The stream's media is removed (its time is up). */
  remove(): Promise<void>;
}
