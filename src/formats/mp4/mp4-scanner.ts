import { ByteWindow } from '../byte-window.js';
import { ScanError, type ContainerScanner, type UnitEvents } from '../unit-events.js';

/** moov and moof are read whole (they hold no media); anything larger is not a live fMP4. */
const MAX_METADATA_BOX = 4 * 1024 * 1024;
/** sample_is_non_sync_sample in ISO BMFF sample flags. */
const NON_SYNC = 0x00010000;

interface Box {
  type: string;
  /** Offset of the box's payload (after size and type). */
  body: number;
  end: number;
}

/**
 * Follows a fragmented MP4 byte stream box by box: the header is everything before the first
 * `moof`; each `moof` starts a unit, a key unit when the first sample of its video track is a
 * sync sample (from trun, tfhd or the moov's trex defaults). `mdat` payloads are skipped as they pass.
 */
export class Mp4Scanner implements ContainerScanner {
  readonly #events: UnitEvents;
  readonly #window = new ByteWindow();
  #videoTrack: number | undefined;
  readonly #trexFlags = new Map<number, number>();

  constructor(events: UnitEvents) {
    this.#events = events;
  }

  push(chunk: Buffer): void {
    const window = this.#window;
    if (!window.append(chunk)) return;
    for (;;) {
      const bytes = window.bytes;
      if (bytes.length < 8) break;
      const size32 = bytes.readUInt32BE(0);
      const type = bytes.toString('latin1', 4, 8);
      let size = size32;
      let headerLength = 8;
      if (size32 === 1) {
        if (bytes.length < 16) break;
        const large = bytes.readBigUInt64BE(8);
        if (large > BigInt(Number.MAX_SAFE_INTEGER)) throw new ScanError('box size out of range');
        size = Number(large);
        headerLength = 16;
      } else if (size32 === 0) {
        throw new ScanError(`box "${type}" runs to the end of the stream`);
      }
      if (size < headerLength) throw new ScanError(`box "${type}" has size ${size}`);
      if (type === 'moov' || type === 'moof') {
        if (size > MAX_METADATA_BOX) throw new ScanError(`${type} of ${size} bytes`);
        if (bytes.length < size) break;
        const box = bytes.subarray(0, size);
        const start = window.offset;
        if (type === 'moov') this.#readMoov(box, headerLength);
        else {
          this.#events.onUnitStart(start);
          this.#events.onUnit(start, this.#firstVideoSampleIsSync(box, headerLength));
        }
        window.consume(size);
        continue;
      }
      if (!window.skip(headerLength, size - headerLength)) return;
    }
    window.hold();
  }

  #readMoov(moov: Buffer, from: number): void {
    for (const box of children(moov, from, moov.length)) {
      if (box.type === 'trak') {
        let trackId: number | undefined;
        let handler: string | undefined;
        for (const child of children(moov, box.body, box.end)) {
          if (child.type === 'tkhd')
            trackId = moov.readUInt32BE(child.body + (moov[child.body] === 1 ? 20 : 12));
          if (child.type === 'mdia') {
            const hdlr = children(moov, child.body, child.end).find((b) => b.type === 'hdlr');
            if (hdlr) handler = moov.toString('latin1', hdlr.body + 8, hdlr.body + 12);
          }
        }
        if (handler === 'vide' && trackId !== undefined && this.#videoTrack === undefined)
          this.#videoTrack = trackId;
      }
      if (box.type === 'mvex') {
        for (const trex of children(moov, box.body, box.end).filter((b) => b.type === 'trex')) {
          this.#trexFlags.set(moov.readUInt32BE(trex.body + 4), moov.readUInt32BE(trex.body + 20));
        }
      }
    }
  }

  /** True when the fragment's first video sample is a sync sample (or nothing says otherwise). */
  #firstVideoSampleIsSync(moof: Buffer, from: number): boolean {
    for (const traf of children(moof, from, moof.length).filter((b) => b.type === 'traf')) {
      const parts = children(moof, traf.body, traf.end);
      const tfhd = parts.find((b) => b.type === 'tfhd');
      if (!tfhd) continue;
      const tfhdFlags = moof.readUInt32BE(tfhd.body) & 0xffffff;
      const trackId = moof.readUInt32BE(tfhd.body + 4);
      if (trackId !== this.#videoTrack) continue;
      let defaultFlags = this.#trexFlags.get(trackId);
      if (tfhdFlags & 0x20) {
        let at = tfhd.body + 8;
        if (tfhdFlags & 0x01) at += 8;
        for (const bit of [0x02, 0x08, 0x10]) if (tfhdFlags & bit) at += 4;
        defaultFlags = moof.readUInt32BE(at);
      }
      const trun = parts.find((b) => b.type === 'trun');
      if (trun) {
        const trunFlags = moof.readUInt32BE(trun.body) & 0xffffff;
        let at = trun.body + 8; // version+flags, sample_count
        if (trunFlags & 0x01) at += 4;
        if (trunFlags & 0x04) return (moof.readUInt32BE(at) & NON_SYNC) === 0;
        if (trunFlags & 0x400) {
          if (trunFlags & 0x100) at += 4;
          if (trunFlags & 0x200) at += 4;
          return (moof.readUInt32BE(at) & NON_SYNC) === 0;
        }
      }
      // No flags anywhere: the muxer did not say; take it as decodable rather than never resuming.
      return defaultFlags === undefined || (defaultFlags & NON_SYNC) === 0;
    }
    return false; // no video in this fragment
  }
}

/** The boxes directly inside [from, to) of `buf` (32-bit sizes: metadata boxes are small). */
function children(buf: Buffer, from: number, to: number): Box[] {
  const boxes: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    const size = buf.readUInt32BE(at);
    if (size < 8 || at + size > to) throw new ScanError(`broken box inside metadata at ${at}`);
    boxes.push({ type: buf.toString('latin1', at + 4, at + 8), body: at + 8, end: at + size });
    at += size;
  }
  return boxes;
}
