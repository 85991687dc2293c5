import { StagedoorError } from '../../errors.js';
import { Flv, type AVPacket } from './nms.js';

/**
 * node-media-server's FLV byte-stream parser with a cap on tag size: upstream grows its buffer
 * to twice whatever 24-bit size a tag header claims (up to 32 MB per connection).
 */
export class FlvReader extends Flv {
  readonly #maxTagBytes: number;

  constructor(maxTagBytes: number, onPacket: (packet: AVPacket) => void) {
    super();
    this.#maxTagBytes = maxTagBytes;
    this.onPacketCallback = onPacket;
  }

  override parserTagAlloc(size: number): void {
    if (size > this.#maxTagBytes)
      throw new StagedoorError(
        'PROTOCOL_ERROR',
        `FLV tag of ${size} bytes exceeds ${this.#maxTagBytes}`,
      );
    super.parserTagAlloc(size);
  }

  /** Feeds bytes; throws PROTOCOL_ERROR on anything that is not a well-formed FLV stream. */
  push(chunk: Buffer): void {
    const error = this.parserData(chunk);
    if (error) throw new StagedoorError('PROTOCOL_ERROR', String(error));
  }
}
