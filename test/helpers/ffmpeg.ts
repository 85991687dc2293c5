import { spawn, type ChildProcess } from 'node:child_process';

export interface RunningProcess {
  child: ChildProcess;
  startedAt: number;
  stderr: () => string;
  /** Resolves when the process exits, with when. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  stop(): void;
}

function run(cmd: string, args: string[]): RunningProcess {
  const startedAt = Date.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
    },
  );
  return {
    child,
    startedAt,
    stderr: () => err,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** A real ffmpeg publisher: lavfi test picture and tone, H.264 + AAC over RTMP (FLV). */
/** A live ffmpeg publisher (testsrc + sine, x264 in `pixFmt`, AAC) for `seconds`. */
export function publish(
  url: string,
  seconds = 30,
  size = '640x360',
  pixFmt = 'yuv420p',
): RunningProcess {
  return run('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-re',
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${size}:rate=30`,
    '-f',
    'lavfi',
    '-i',
    'sine',
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    pixFmt,
    '-g',
    '30',
    '-c:a',
    'aac',
    '-f',
    'flv',
    url,
  ]);
}

/** A stream as ffprobe describes it. */
export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  pix_fmt?: string;
  profile?: string;
}

/** ffprobe over RTMP: the streams it finds (codec names), or the error. */
export async function probe(
  url: string,
  timeoutSec = 10,
): Promise<{
  code: number | null;
  streams: ProbedStream[];
}> {
  const p = run('ffprobe', [
    '-hide_banner',
    '-v',
    'error',
    '-rw_timeout',
    String(timeoutSec * 1_000_000),
    '-show_entries',
    'stream=codec_type,codec_name,width,pix_fmt,profile',
    '-of',
    'json',
    url,
  ]);
  let out = '';
  p.child.stdout!.removeAllListeners('data');
  p.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const killer = setTimeout(() => p.stop(), timeoutSec * 1000 + 2000);
  const { code } = await p.exited;
  clearTimeout(killer);
  let streams: ProbedStream[] = [];
  try {
    streams = (JSON.parse(out) as { streams?: typeof streams }).streams ?? [];
  } catch {
    /* no JSON: ffprobe failed */
  }
  return { code, streams };
}

/** ffmpeg reading an RTMP stream and discarding it: a long-lived real viewer. */
export function view(url: string): RunningProcess {
  return run('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-i',
    url,
    '-c',
    'copy',
    '-f',
    'null',
    '-',
  ]);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
