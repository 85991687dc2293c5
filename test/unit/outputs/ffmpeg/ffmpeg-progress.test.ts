import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ProgressReader } from '../../../../src/outputs/ffmpeg/ffmpeg-progress.js';

describe('FFmpeg progress reports', () => {
  it('keeps the latest complete report, split anywhere across chunks', () => {
    const reader = new ProgressReader();
    const report = (frame: number, speed: string) =>
      `frame=${frame}\nfps=29.97\nstream_0_0_q=23.0\nbitrate=1200.5kbits/s\nout_time_us=${frame * 33_333}\n` +
      `out_time_ms=${frame * 33_333}\nout_time=00:00:01.000000\ndup_frames=2\ndrop_frames=5\nspeed=${speed}\nprogress=continue\n`;
    const text = report(30, '1.01x');
    for (let i = 0; i < text.length; i += 7) reader.push(text.slice(i, i + 7), 1000);
    // The first report: FFmpeg's own averages.
    expect(reader.latest).toMatchObject({
      frames: 30,
      fps: 29.97,
      speed: 1.01,
      droppedFrames: 5,
      duplicatedFrames: 2,
      at: 1000,
    });
    expect(reader.latest!.outTimeSec).toBeCloseTo(1, 3);
    reader.push('frame=61\nspeed=N/A\n', 1500); // an incomplete report changes nothing
    expect(reader.latest!.frames).toBe(30);
  });

  it('measures fps and speed between reports, so a stream falling behind shows at once', () => {
    const reader = new ProgressReader();
    const report = (frame: number, outSec: number) =>
      `frame=${frame}\nfps=30.00\nout_time_us=${outSec * 1e6}\nspeed=1.00x\nprogress=continue\n`;
    reader.push(report(3000, 100), 100_000); // FFmpeg's averages over 100 s: 30 fps, 1×
    reader.push(report(3015, 100.5), 101_000); // then half a second of media in a second
    expect(reader.latest).toMatchObject({ frames: 3015, fps: 15, speed: 0.5 });
    reader.push(report(3016, 100.53), 101_100); // bunched: too close to measure, rates kept
    expect(reader.latest).toMatchObject({ frames: 3016, fps: 15, speed: 0.5 });
    reader.push(report(3045, 101.5), 102_000);
    expect(reader.latest!.fps).toBeCloseTo(30, 5);
    expect(reader.latest!.speed).toBeCloseTo(1, 5);
  });

  it('reads what a real FFmpeg writes to -progress', () => {
    const run = spawnSync(
      'ffmpeg',
      [
        ...[
          '-hide_banner',
          '-loglevel',
          'error',
          '-f',
          'lavfi',
          '-i',
          'testsrc=size=160x120:rate=25',
        ],
        ...['-frames:v', '50', '-c:v', 'libx264', '-progress', 'pipe:1', '-f', 'null', '-'],
      ],
      { encoding: 'utf8' },
    );
    const reader = new ProgressReader();
    // Each report as if a second apart (this FFmpeg runs faster than real time).
    const reports = run.stdout.split(/(?<=progress=(?:continue|end)\n)/);
    expect(reports.length).toBeGreaterThan(1);
    reports.forEach((report, i) => reader.push(report, i * 1000));
    expect(reader.latest).toMatchObject({ frames: 50 });
    expect(reader.latest!.speed).toBeGreaterThan(0);
    expect(reader.latest!.outTimeSec).toBeGreaterThan(1.5);
  });

  it('stays bounded on garbage', () => {
    const reader = new ProgressReader();
    reader.push('x'.repeat(100_000));
    reader.push('=====\n\nfps\n');
    expect(reader.latest).toBeUndefined();
  });
});
