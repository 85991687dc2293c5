import { box, Fields, fullBox, UNITY_MATRIX } from './boxes.js';
import type { CmafAudioTrack, CmafTrack, CmafVideoTrack } from './cmaf-track.js';

// A CMAF header (ISO/IEC 23000-19 §7.3.2.1): ftyp and a moov whose sample tables are empty, with
// an mvex that says the samples come in movie fragments. One sample entry per track, carrying the
// publisher's decoder configuration as it came.

/** ftyp + moov for `tracks` (each `id` distinct, from 1). */
export function initSegment(tracks: readonly CmafTrack[]): Buffer {
  const ftyp = box(
    'ftyp',
    Buffer.from('iso6', 'latin1'),
    new Fields(4).u32(0).done(),
    Buffer.from('iso6cmfcisommp41', 'latin1'),
  );
  const nextTrackId = Math.max(0, ...tracks.map((t) => t.id)) + 1;
  const moov = box(
    'moov',
    mvhd(nextTrackId),
    ...tracks.map(trak),
    box('mvex', ...tracks.map(trex)),
  );
  return Buffer.concat([ftyp, moov]);
}

function mvhd(nextTrackId: number): Buffer {
  return fullBox(
    'mvhd',
    0,
    0,
    new Fields(96)
      .u32(0) // creation_time
      .u32(0) // modification_time
      .u32(1000) // timescale
      .u32(0) // duration: unknown, fragments follow
      .u32(0x00010000) // rate 1.0
      .u16(0x0100) // volume 1.0
      .zeros(10)
      .bytes(UNITY_MATRIX)
      .zeros(24) // pre_defined
      .u32(nextTrackId)
      .done(),
  );
}

function trak(track: CmafTrack): Buffer {
  const video = track.kind === 'video';
  const tkhd = fullBox(
    'tkhd',
    0,
    0x3, // enabled, in movie
    new Fields(80)
      .u32(0)
      .u32(0)
      .u32(track.id)
      .zeros(4)
      .u32(0) // duration
      .zeros(8)
      .i16(0) // layer
      .i16(0) // alternate_group
      .u16(video ? 0 : 0x0100) // volume
      .zeros(2)
      .bytes(UNITY_MATRIX)
      .u32(video ? track.width * 0x10000 : 0)
      .u32(video ? track.height * 0x10000 : 0)
      .done(),
  );
  const mdhd = fullBox(
    'mdhd',
    0,
    0,
    new Fields(20)
      .u32(0)
      .u32(0)
      .u32(track.timescale)
      .u32(0)
      .u16(0x55c4) // language `und`
      .u16(0)
      .done(),
  );
  const handler = video ? 'vide' : 'soun';
  const hdlr = fullBox(
    'hdlr',
    0,
    0,
    new Fields(4).u32(0).done(),
    Buffer.from(handler, 'latin1'),
    Buffer.alloc(12),
    Buffer.from(video ? 'Stagedoor video\0' : 'Stagedoor audio\0', 'latin1'),
  );
  const header = video
    ? fullBox('vmhd', 0, 1, Buffer.alloc(8))
    : fullBox('smhd', 0, 0, Buffer.alloc(4));
  const dinf = box(
    'dinf',
    fullBox('dref', 0, 0, new Fields(4).u32(1).done(), fullBox('url ', 0, 1)),
  );
  const empty = (type: string) => fullBox(type, 0, 0, new Fields(4).u32(0).done());
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, new Fields(4).u32(1).done(), sampleEntry(track)),
    empty('stts'),
    empty('stsc'),
    fullBox('stsz', 0, 0, Buffer.alloc(8)),
    empty('stco'),
  );
  return box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', header, dinf, stbl)));
}

function sampleEntry(track: CmafTrack): Buffer {
  return track.kind === 'video' ? visualEntry(track) : audioEntry(track);
}

function visualEntry(track: CmafVideoTrack): Buffer {
  const [entry, config] = track.codec === 'h264' ? ['avc1', 'avcC'] : ['hvc1', 'hvcC'];
  return box(
    entry,
    new Fields(78)
      .zeros(6)
      .u16(1) // data_reference_index
      .zeros(16) // pre_defined, reserved
      .u16(track.width)
      .u16(track.height)
      .u32(0x00480000) // 72 dpi
      .u32(0x00480000)
      .zeros(4)
      .u16(1) // frame_count
      .zeros(32) // compressorname
      .u16(0x0018) // depth
      .i16(-1)
      .done(),
    box(config, track.config),
  );
}

function audioEntry(track: CmafAudioTrack): Buffer {
  return box(
    'mp4a',
    new Fields(28)
      .zeros(6)
      .u16(1)
      .zeros(8)
      .u16(track.channels)
      .u16(16) // samplesize
      .zeros(4)
      .u32(Math.min(track.sampleRate, 0xffff) * 0x10000)
      .done(),
    esds(track.config),
  );
}

/** An ES descriptor (ISO/IEC 14496-1 §7.2.6.5) for AAC: object type 0x40, the AudioSpecificConfig. */
function esds(audioSpecificConfig: Uint8Array): Buffer {
  const descriptor = (tag: number, ...body: Uint8Array[]): Buffer => {
    const length = body.reduce((n, b) => n + b.length, 0);
    // Four-byte length form: any size up to 2^28, as most muxers write it.
    const head = Buffer.from([
      tag,
      0x80 | ((length >> 21) & 0x7f),
      0x80 | ((length >> 14) & 0x7f),
      0x80 | ((length >> 7) & 0x7f),
      length & 0x7f,
    ]);
    return Buffer.concat([head, ...body]);
  };
  const decoderConfig = descriptor(
    0x04,
    new Fields(13)
      .u8(0x40) // Audio ISO/IEC 14496-3
      .u8(0x15) // audio stream, upstream 0, reserved 1
      .u24(0) // bufferSizeDB
      .u32(0) // maxBitrate
      .u32(0) // avgBitrate
      .done(),
    descriptor(0x05, audioSpecificConfig),
  );
  const es = descriptor(
    0x03,
    new Fields(3).u16(0).u8(0).done(),
    decoderConfig,
    descriptor(0x06, Buffer.from([0x02])),
  );
  return fullBox('esds', 0, 0, es);
}

function trex(track: CmafTrack): Buffer {
  return fullBox('trex', 0, 0, new Fields(20).u32(track.id).u32(1).u32(0).u32(0).u32(0).done());
}
