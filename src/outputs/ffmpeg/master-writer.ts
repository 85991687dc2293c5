import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log/logger.js';
import { writeFileAtomic } from '../../state/atomic-write.js';
import { renditionPlaylist } from './ffmpeg-args.js';
import { buildMasterPlaylist, type SourceInfo } from './master-playlist.js';

const POLL_MS = 20;

export interface MasterWriterOptions {
  dir: string;
  renditions: Config['hls']['renditions'];
  /** False once the FFmpeg run this waits for is gone: nothing is written then. */
  isCurrent: () => boolean;
  /** What the master says of the source, given how long the run has been fed (for a bitrate). */
  sourceInfo: (secondsFed: number) => SourceInfo;
  log: Logger;
}

/**
 * Writes the stream's master playlist once every rendition has a playlist, so that it never names
 * a missing one. Resolves true when written; false when the run ended first, or the stream's
 * directory went away under it (the stream ended).
 */
export async function writeMasterWhenReady(options: MasterWriterOptions): Promise<boolean> {
  const { dir, renditions, log } = options;
  const startedAt = Date.now();
  while (options.isCurrent()) {
    if (renditions.every((r) => existsSync(join(dir, renditionPlaylist(r.name))))) {
      const seconds = Math.max(0.5, (Date.now() - startedAt) / 1000);
      try {
        await writeFileAtomic(
          join(dir, 'index.m3u8'),
          buildMasterPlaylist(renditions, options.sourceInfo(seconds)),
        );
      } catch (error) {
        // The stream may end, and its directory go, between the check and the write: nothing to serve then.
        const gone = (error as NodeJS.ErrnoException).code === 'ENOENT';
        log[gone ? 'debug' : 'error'](
          { err: error, event: 'hls_master_not_written' },
          'hls master playlist not written',
        );
        return false;
      }
      log.info({ event: 'hls_ready', ms: Date.now() - startedAt }, 'hls master playlist written');
      return true;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return false;
}
