import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ProgressReader } from '../../../../src/outputs/ffmpeg/ffmpeg-progress.js';

describe('FFmpeg progress reports', () => {
  it('keeps the latest complete report, split anywhere across chunks', () => {
    const reader = new ProgressReader();
    const report = (frame: number, speed: string) =>
      `frame=${frame}\nfps=29.97\nstream_0_0_q=23.0\nbitrate=1200.5kbits/s\nout_time_us=${frame * 33_333}\n` +
      `out_time_ms=${frame * 33_333}\nout_time=00:00:01.000000\ndup_frames=2\ndrop_frames=5\nspeed=${speed}\nprogress=continue\n`;
    const text = report(30, '1.01x') + report(60, '0.5x');
    for (let i = 0; i < text.length; i += 7) reader.push(text.slice(i, i + 7), 1000 + i);
    expect(reader.latest).toMatchObject({
      frames: 60,
      fps: 29.97,
      speed: 0.5,
      droppedFrames: 5,
      duplicatedFrames: 2,
    });
    expect(reader.latest!.outTimeSec).toBeCloseTo(2, 3);
    reader.push('frame=61\nspeed=N/A\n'); // an incomplete report changes nothing
    expect(reader.latest!.frames).toBe(60);
    reader.push('progress=end\n');
    expect(reader.latest).toMatchObject({ frames: 61, speed: 0 });
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
    reader.push(run.stdout);
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
