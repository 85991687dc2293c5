import { box, Fields, fullBox } from './boxes.js';
import type { CmafRun } from './cmaf-track.js';

// A CMAF chunk (ISO/IEC 23000-19 §7.3.2.3): one moof with a traf per track, then one mdat with the
// tracks' samples in the same order. Offsets are from the moof (default-base-is-moof), decode
// times are absolute (tfdt version 1), composition offsets signed (trun version 1).

const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_DURATION = 0x000100;
const TRUN_SIZE = 0x000200;
const TRUN_FLAGS = 0x000400;
const TRUN_COMPOSITION_OFFSET = 0x000800;

/** sample_depends_on = 2 (an I-frame; every audio frame). */
const SYNC_SAMPLE = 0x02000000;
/** sample_depends_on = 1, sample_is_non_sync_sample. */
const NON_SYNC_SAMPLE = 0x01010000;

/** moof + mdat of `runs` (tracks with no samples are left out), numbered `sequence`. */
export function fragment(sequence: number, runs: readonly CmafRun[]): Buffer {
  const present = runs.filter((r) => r.samples.length > 0);
  // The moof's size does not depend on the offsets it holds: build it once with zeros to learn it.
  const moofSize = moof(sequence, present, []).length;
  const offsets: number[] = [];
  let at = moofSize + 8; // past the mdat header
  for (const run of present) {
    offsets.push(at);
    for (const sample of run.samples) at += sample.data.length;
  }
  const mdat = box('mdat', ...present.flatMap((r) => r.samples.map((s) => s.data)));
  return Buffer.concat([moof(sequence, present, offsets), mdat]);
}

function moof(sequence: number, runs: readonly CmafRun[], offsets: readonly number[]): Buffer {
  return box(
    'moof',
    fullBox('mfhd', 0, 0, new Fields(4).u32(sequence).done()),
    ...runs.map((run, i) => traf(run, offsets[i] ?? 0)),
  );
}

function traf(run: CmafRun, dataOffset: number): Buffer {
  const video = run.track.kind === 'video';
  const tfhd = fullBox(
    'tfhd',
    0,
    TFHD_DEFAULT_BASE_IS_MOOF,
    new Fields(4).u32(run.track.id).done(),
  );
  const tfdt = fullBox('tfdt', 1, 0, new Fields(8).u64(run.baseDecodeTime).done());
  let flags = TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE;
  if (video) flags |= TRUN_FLAGS | TRUN_COMPOSITION_OFFSET;
  const perSample = video ? 16 : 8;
  const fields = new Fields(8 + perSample * run.samples.length)
    .u32(run.samples.length)
    .i32(dataOffset);
  for (const sample of run.samples) {
    fields.u32(sample.duration).u32(sample.data.length);
    if (video)
      fields.u32(sample.sync ? SYNC_SAMPLE : NON_SYNC_SAMPLE).i32(sample.compositionOffset);
  }
  return box('traf', tfhd, tfdt, fullBox('trun', 1, flags, fields.done()));
}
