import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { stateFiles } from './state-files.js';
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
  const state = stateFiles(config, log);
  const { keys, edgeKeys } = config.hls.passes;
  const playlistKeys = await PassKeyring.load(keys, state<PassKey[]>('pass-keys.json'), 'pk');
  const segmentKeys = await PassKeyring.load(edgeKeys, state<PassKey[]>('edge-keys.json'), 'ek');
  return {
    playlistPasses: new PlaylistPasses(playlistKeys),
    segmentPasses: new SegmentPasses(segmentKeys),
    edgeKeys: segmentKeys,
  };
}
