import { Counter, Gauge, type Registry } from 'prom-client';
import { readFileSync } from 'node:fs';
import type { OutputHealth, OutputHealthSource } from './output-health.js';

const CLOCK_TICKS = 100; // Linux USER_HZ

/** CPU seconds a process has used, from /proc (undefined if it is gone or not Linux). */
function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * Per-stream output health: FFmpeg's progress (fps, speed: a stream below 1× falls behind real time
 * before its viewers stall), dropped and duplicated frames, and the age of the newest segment.
 */
export function registerOutputMetrics(registry: Registry, outputs: OutputHealthSource): void {
  /** Calls `write` with each running stream's value, where it has one. */
  const eachStream = (
    value: (output: OutputHealth) => number | undefined,
    write: (stream: string, v: number) => void,
  ): void => {
    for (const [stream, output] of outputs.streams()) {
      const v = output.state === 'running' ? value(output) : undefined;
      if (v !== undefined) write(stream, v);
    }
  };
  const gauges: Array<[string, string, (o: OutputHealth) => number | undefined]> = [
    [
      'stagedoor_ffmpeg_fps',
      'Frames per second FFmpeg outputs, from its progress report',
      (o) => o.process?.progress?.fps,
    ],
    [
      'stagedoor_ffmpeg_speed',
      'Media seconds FFmpeg makes per wall-clock second (below 1: falling behind)',
      (o) => o.process?.progress?.speed,
    ],
    [
      'stagedoor_last_segment_age_seconds',
      'Seconds since the newest HLS segment was written',
      (o) => {
        const at = o.lastSegmentAt();
        return at === undefined ? undefined : Math.max(0, (Date.now() - at) / 1000);
      },
    ],
  ];
  for (const [name, help, value] of gauges)
    new Gauge({
      name,
      help,
      labelNames: ['stream'] as const,
      registers: [registry],
      collect() {
        this.reset();
        eachStream(value, (stream, v) => this.set({ stream }, v));
      },
    });
  const counters: Array<[string, string, (o: OutputHealth) => number | undefined]> = [
    [
      'stagedoor_ffmpeg_dropped_frames_total',
      "Frames FFmpeg dropped (its current run's count)",
      (o) => o.process?.progress?.droppedFrames,
    ],
    [
      'stagedoor_ffmpeg_duplicated_frames_total',
      "Frames FFmpeg duplicated (its current run's count)",
      (o) => o.process?.progress?.duplicatedFrames,
    ],
  ];
  for (const [name, help, value] of counters)
    new Counter({
      name,
      help,
      labelNames: ['stream'] as const,
      registers: [registry],
      collect() {
        this.reset();
        eachStream(value, (stream, v) => {
          if (v > 0) this.inc({ stream }, v);
        });
      },
    });
  new Gauge({
    name: 'stagedoor_ffmpeg_processes',
    help: 'Running FFmpeg processes',
    registers: [registry],
    collect() {
      this.set(outputs.list().filter((t) => t.process?.pid !== undefined).length);
    },
  });
  new Gauge({
    name: 'stagedoor_ffmpeg_cpu_seconds',
    help: 'CPU seconds used so far by the FFmpeg processes running now',
    registers: [registry],
    collect() {
      let total = 0;
      for (const t of outputs.list())
        if (t.process?.pid !== undefined) total += processCpuSeconds(t.process!.pid!) ?? 0;
      this.set(total);
    },
  });
}
