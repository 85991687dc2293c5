/**
 * What observability reads of each live stream's output: its port, declared here so that metrics
 * never import the outputs (the output manager satisfies it as it is). Fields an output does not
 * have (no process, no encoder progress: a packager) are undefined.
 */
export interface OutputHealth {
  readonly state: 'waiting' | 'running' | 'backoff' | 'ending' | 'ended';
  /** The process it runs, if it runs one (FFmpeg; a packager runs none). */
  readonly process:
    | {
        readonly pid: number | undefined;
        /** An encoder's own report: frames per second, speed (below 1: falling behind), frames lost. */
        readonly progress:
          | { fps: number; speed: number; droppedFrames: number; duplicatedFrames: number }
          | undefined;
      }
    | undefined;
  /** When the newest segment was made (ms since the epoch), if any is. */
  lastSegmentAt(): number | undefined;
}

/** The outputs of the live streams, by stream path. */
export interface OutputHealthSource {
  list(): readonly OutputHealth[];
  streams(): ReadonlyArray<readonly [string, OutputHealth]>;
}
