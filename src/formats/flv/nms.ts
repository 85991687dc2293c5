// The only module that imports node-media-server (its RTMP engine, FLV parser and AMF codec).
// Importing it has a side effect we undo here:
// its logger is a process-wide singleton forced to debug that prints free text to stdout, which
// would break our JSON-lines log. `adoptNmsLogger` routes it into pino at debug level, redacted.
import Rtmp from 'node-media-server/src/protocol/rtmp.js';
import Flv from 'node-media-server/src/protocol/flv.js';
import AVPacket from 'node-media-server/src/core/avpacket.js';
import nmsLogger from 'node-media-server/src/core/logger.js';
import { decodeAmf0Data, encodeAmf0Data } from 'node-media-server/src/protocol/amf.js';
import type { Logger } from '../../log/logger.js';

export { Rtmp, Flv, AVPacket, decodeAmf0Data, encodeAmf0Data };

/** Pinned version; the hardening and its tests are written against exactly this release. */
export const NMS_VERSION = '4.4.3';

export function adoptNmsLogger(log: Logger): void {
  nmsLogger.level = 'trace';
  nmsLogger.log = (message: string, level = 'info') => {
    log.debug(
      { component: 'node-media-server', nmsLevel: level, detail: String(message) },
      'node-media-server message',
    );
  };
}
