import { describe, expect, it } from 'vitest';
import { AccessUnit } from '../../../../src/media/media-unit.js';
import {
  StreamClock,
  TrackClock,
  type TimedSample,
} from '../../../../src/outputs/packager/track-clock.js';
import { Segmenter, type ClosedPart } from '../../../../src/outputs/packager/segmenter.js';

const video = (dts: number, key = false, pts = dts) =>
  new AccessUnit({
    track: 'video',
    codec: 'h264',
    dts,
    pts,
    key,
    config: false,
    payload: Buffer.alloc(10),
  });
const audio = (dts: number) =>
  new AccessUnit({
    track: 'audio',
    codec: 'aac',
    dts,
    pts: dts,
    key: false,
    config: false,
    payload: Buffer.alloc(4),
  });

const videoClock = (stream = new StreamClock()) =>
  new TrackClock(stream, { timescale: 90_000, defaultDuration: 3000 });
const audioClock = (stream: StreamClock) =>
  new TrackClock(stream, { timescale: 48_000, fixedDuration: 1024, defaultDuration: 1024 });

function run(clock: TrackClock, units: AccessUnit[]): TimedSample[] {
  const out: TimedSample[] = [];
  for (const unit of units) {
    const s = clock.push(unit);
    if (s) out.push(s);
  }
  const last = clock.flush();
  if (last) out.push(last);
  return out;
}

const continuous = (samples: TimedSample[]) =>
  samples.every(
    (s, i) => i === 0 || s.decodeTime === samples[i - 1]!.decodeTime + samples[i - 1]!.duration,
  );

describe('track clocks', () => {
  it('turns 30 fps milliseconds into 90 kHz decode times with B-frame offsets', () => {
    const samples = run(videoClock(), [
      video(0, true, 66),
      video(33, false, 133),
      video(67, false, 100),
    ]);
    expect(samples.map((s) => s.duration)).toEqual([2970, 3060, 3060]);
    expect(samples[0]!.compositionOffset).toBe(66 * 90);
    expect(continuous(samples)).toBe(true);
  });

  it('keeps decode times growing when the publisher clock jumps backwards or leaps ahead', () => {
    const stream = new StreamClock();
    const units = [0, 33, 67, 100, 5, 38, 71, 60_000, 60_033].map((t, i) => video(t, i === 0));
    const samples = run(videoClock(stream), units);
    expect(continuous(samples)).toBe(true);
    expect(samples.every((s) => s.duration > 0 && s.duration <= 90_000)).toBe(true);
    expect(stream.rebases).toBe(2);
  });

  it('moves audio with its video when the clock jumps, and snaps AAC jitter to 1024 samples', () => {
    const stream = new StreamClock();
    const v = videoClock(stream);
    const a = audioClock(stream);
    v.push(video(0, true));
    a.push(audio(0));
    const frames: TimedSample[] = [];
    for (const t of [21, 43, 64]) frames.push(a.push(audio(t))!);
    expect(frames.map((s) => s.duration)).toEqual([1024, 1024, 1024]);
    // Both tracks restart at 0: the video sees the jump first, the audio follows on the new offset.
    const lastVideo = v.push(video(10_000))!;
    v.push(video(0));
    const afterJump = a.push(audio(0))!;
    expect(afterJump.decodeTime).toBe(frames.at(-1)!.decodeTime + 1024);
    expect(lastVideo.duration).toBe(3000);
  });

  it('holds a real audio gap under a second, and closes a longer one', () => {
    const a = audioClock(new StreamClock());
    const samples = run(a, [audio(0), audio(21), audio(500), audio(521), audio(5000), audio(5021)]);
    // The frame before the gap lasts until the next one (frames are laid end to end, 1024 apart).
    expect(samples[1]!.duration).toBe(24_000 - 1024);
    expect(samples[3]!.duration).toBe(1024);
    expect(continuous(samples)).toBe(true);
  });
});

describe('the segmenter', () => {
  const cut = (units: TimedSample[], options: { lead: 'video' | 'audio'; timescale: number }) => {
    const parts: Array<ClosedPart & { segment: number }> = [];
    let segment = 0;
    const s = new Segmenter(
      {
        partTargetSec: 0.2,
        segmentTargetSec: 1,
        leadTimescale: options.timescale,
        leadTrack: options.lead,
      },
      { part: (p) => parts.push({ ...p, segment }), segmentEnd: () => segment++ },
    );
    for (const u of units) s.take(u);
    s.endSegment();
    return { parts, segments: segment };
  };

  it('cuts parts no longer than the target and segments at key frames once they last the target', () => {
    const clock = videoClock();
    // 4 s at 30 fps, a key frame every 45 frames (1.5 s GOP).
    const samples = run(
      clock,
      Array.from({ length: 120 }, (_, i) => video(Math.round((i * 1000) / 30), i % 45 === 0)),
    );
    const { parts, segments } = cut(samples, { lead: 'video', timescale: 90_000 });
    expect(segments).toBe(3);
    expect(parts.every((p) => p.duration <= 0.2 + 1e-9)).toBe(true);
    // Each segment starts with an independent part, and only key frames start one.
    const firsts = parts.filter((p, i) => i === 0 || parts[i - 1]!.segment !== p.segment);
    expect(firsts.every((p) => p.independent && p.video[0]!.unit.key)).toBe(true);
    expect(parts.filter((p) => p.independent)).toHaveLength(3);
  });

  it('cuts an audio-only stream on any frame', () => {
    const samples = run(
      audioClock(new StreamClock()),
      Array.from({ length: 100 }, (_, i) => audio(Math.round((i * 1024 * 1000) / 48_000))),
    );
    const { parts, segments } = cut(samples, { lead: 'audio', timescale: 48_000 });
    expect(segments).toBeGreaterThanOrEqual(2);
    expect(parts.every((p) => p.independent && p.duration <= 0.2 + 1e-9)).toBe(true);
    // Only the last part of a segment may be short.
    const inner = parts.filter((p, i) => parts[i + 1]?.segment === p.segment);
    expect(inner.every((p) => p.duration > 0.85 * 0.2)).toBe(true);
  });
});
