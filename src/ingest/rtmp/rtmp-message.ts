import type { MediaUnit } from '../../media/media-unit.js';
import { flvPacket } from '../../formats/flv/flv-mux.js';
import { Rtmp } from '../../formats/flv/nms.js';

/** A unit as RTMP chunk-stream bytes for a player, chunked once however many players receive it. */
export function rtmpMessage(unit: MediaUnit): Buffer {
  return unit.encodedAs('rtmp', (u: MediaUnit) => Rtmp.createMessage(flvPacket(u)));
}
