import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { stateFiles } from './state-files.js';
import { PassKeyring, type PassKey } from '../delivery/pass/pass-keys.js';
import { PlaylistPasses } from '../delivery/pass/playlist-pass.js';
import { SegmentPasses } from '../delivery/pass/segment-pass.js';
import type { CdnTokenWriter } from '../delivery/pass/cdn/cdn-token.js';
import { cdnTokenWriter } from '../delivery/pass/cdn/cdn-token-writer.js';

export interface PassesArea {
  playlistPasses: PlaylistPasses;
  segmentPasses: SegmentPasses;
  /** The segment pass keys, as an edge must be given them. */
  edgeKeys: PassKeyring;
  /** A CDN's own token beside each segment pass (`hls.passes.cdn`); undefined: none. */
  cdnTokens: CdnTokenWriter | undefined;
}

/**
 * The keys viewer passes are sealed and signed with: configured; else, in a cluster, created once in
 * Redis and shared by every node (a pass from one node verifies on another); else generated on a
 * first start and kept in stateDir. Never logged.
 */
export async function buildPasses(
  config: Config,
  log: Logger,
  shared?: (prefix: string) => Promise<PassKey[]>,
): Promise<PassesArea> {
  const state = stateFiles(config, log);
  const { keys, edgeKeys, cdn } = config.hls.passes;
  const cdnTokens = cdn ? cdnTokenWriter(cdn) : undefined; // bad key material stops the start
  if (cdn && 'bindAddress' in cdn && cdn.bindAddress && config.http.trustedProxies.length === 0)
    // Behind a CDN the origin sees the CDN's address, not the viewer's, unless it trusts the CDN's
    // X-Forwarded-For: every bound token would then name the CDN and be refused to the viewer.
    log.warn(
      { event: 'cdn_bind_without_proxies', setting: 'hls.passes.cdn.bindAddress' },
      "hls.passes.cdn.bindAddress is on but http.trustedProxies is empty: tokens are bound to the address the origin sees (the CDN's), so viewers behind the CDN will be refused; list the CDN in http.trustedProxies",
    );
  const ring = async (configured: PassKey[], file: string, prefix: string) =>
    configured.length === 0 && shared
      ? new PassKeyring(await shared(prefix))
      : PassKeyring.load(configured, state<PassKey[]>(file), prefix);
  const playlistKeys = await ring(keys, 'pass-keys.json', 'pk');
  const segmentKeys = await ring(edgeKeys, 'edge-keys.json', 'ek');
  log.info(
    {
      event: 'pass_keys',
      playlist: passKeysFrom(keys, shared),
      segment: passKeysFrom(edgeKeys, shared),
      cdn: cdnTokens?.format ?? 'none',
    },
    'viewer pass keys loaded',
  );
  return {
    playlistPasses: new PlaylistPasses(playlistKeys),
    segmentPasses: new SegmentPasses(segmentKeys),
    edgeKeys: segmentKeys,
    cdnTokens,
  };
}

/** Where a kind of pass key comes from, as `config check` and the start log say it. */
export function passKeysFrom(
  configured: readonly PassKey[],
  shared: unknown,
): 'config' | 'redis' | 'stateDir' {
  if (configured.length > 0) return 'config';
  return shared ? 'redis' : 'stateDir';
}
