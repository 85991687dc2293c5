import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { JsonStateFile } from '../state/json-state-file.js';
import { PassKeyring, type PassKey } from '../delivery/pass/pass-keys.js';
import { PlaylistPasses } from '../delivery/pass/playlist-pass.js';
import { SegmentPasses } from '../delivery/pass/segment-pass.js';

export interface PassesArea {
  playlistPasses: PlaylistPasses;
  segmentPasses: SegmentPasses;
  /** The segment pass keys, as an edge must be given them. */
  edgeKeys: PassKeyring;
}

/**
 * The keys viewer passes are sealed and signed with: configured, or generated on a first start and
 * kept in stateDir (never logged), so that passes survive a restart.
 */
export async function buildPasses(config: Config, log: Logger): Promise<PassesArea> {
  const state = (file: string) =>
    new JsonStateFile<PassKey[]>(join(config.stateDir, file), log.child({ component: 'state' }));
  const { keys, edgeKeys } = config.hls.passes;
  const playlistKeys = await PassKeyring.load(keys, state('pass-keys.json'), 'pk');
  const segmentKeys = await PassKeyring.load(edgeKeys, state('edge-keys.json'), 'ek');
  return {
    playlistPasses: new PlaylistPasses(playlistKeys),
    segmentPasses: new SegmentPasses(segmentKeys),
    edgeKeys: segmentKeys,
  };
}
