import type { Config } from '../../config/schema.js';
import type { StreamHub } from '../../media/stream-hub.js';
import type { OutputManager, StreamOutput } from '../../outputs/output-manager.js';
import type { SessionSnapshot } from '../../sessions/session.js';

/** One live stream as `GET /api/v1/streams` shows it: its publisher, codecs, bitrate, output and viewers. */
export interface StreamView {
  stream: string;
  node: string;
  publisher: {
    sessionId: string;
    subject: string | undefined;
    protocol: string;
    address: string;
    startedAt: string;
  };
  codecs: { video: string | undefined; audio: string | undefined };
  bitrateKbps: number;
  renditions: string[];
  transcoder: ReturnType<typeof describeOutput> | undefined;
  /** Viewers by protocol, on every node the listing reached. */
  viewers: Record<string, number>;
}

export interface StreamViewSources {
  node: string;
  hub: Pick<StreamHub, 'list'>;
  outputs: Pick<OutputManager, 'get'> | undefined;
  hls: Config['hls'];
}

/** The streams published on this node; `viewers` counted from `sessions` (this node's, or the cluster's). */
export function describeStreams(
  sources: StreamViewSources,
  sessions: readonly SessionSnapshot[],
): StreamView[] {
  return sources.hub
    .list()
    .filter((s) => s.publisher && !s.publisher.closed)
    .map((stream) => {
      const publisher = stream.publisher!;
      const { video, audio } = stream.headers;
      const seconds = Math.max(1, (Date.now() - publisher.startedAt) / 1000);
      const transcoder = sources.outputs?.get(stream.key);
      return {
        stream: stream.key,
        node: sources.node,
        publisher: {
          sessionId: publisher.id,
          subject: publisher.grant.subject,
          protocol: publisher.protocol,
          address: publisher.address,
          startedAt: new Date(publisher.startedAt).toISOString(),
        },
        codecs: {
          video: video ? video.codec : publisher.protocol === 'ws' ? 'container' : undefined,
          audio: audio ? audio.codec : undefined,
        },
        bitrateKbps: Math.round((publisher.bytesIn * 8) / seconds / 1000),
        renditions: transcoder ? sources.hls.renditions.map((r) => r.name) : [],
        transcoder: transcoder ? describeOutput(transcoder) : undefined,
        viewers: countViewers(stream.key, sessions),
      };
    });
}

/** Viewers of `stream` among `sessions`, by protocol. */
export function countViewers(
  stream: string,
  sessions: readonly SessionSnapshot[],
): Record<string, number> {
  const viewers: Record<string, number> = {};
  for (const s of sessions)
    if (s.kind === 'viewer' && s.stream === stream)
      viewers[s.protocol] = (viewers[s.protocol] ?? 0) + 1;
  return viewers;
}

/** The JSON schema of a `StreamView`. */
export const streamViewSchema = {
  type: 'object',
  properties: {
    stream: { type: 'string' },
    node: { type: 'string', description: 'the node its publisher is on' },
    publisher: {
      type: 'object',
      properties: {
        sessionId: { type: 'string' },
        subject: { type: 'string' },
        protocol: { type: 'string' },
        address: { type: 'string' },
        startedAt: { type: 'string' },
      },
    },
    codecs: {
      type: 'object',
      properties: { video: { type: 'string' }, audio: { type: 'string' } },
    },
    bitrateKbps: { type: 'number' },
    renditions: { type: 'array', items: { type: 'string' } },
    transcoder: {
      type: 'object',
      properties: {
        kind: {
          type: 'string',
          enum: ['pending', 'packager', 'ffmpeg'],
          description:
            'packager: packaged in-process (LL-HLS, no FFmpeg); ffmpeg: FFmpeg makes the HLS; pending: codecs not known yet',
        },
        state: { type: 'string' },
        pid: { type: 'integer' },
        restarts: { type: 'integer' },
        fps: { type: 'number' },
        speed: { type: 'number', description: 'below 1: falling behind real time' },
        droppedFrames: { type: 'integer' },
        duplicatedFrames: { type: 'integer' },
        lastSegmentAgeSec: { type: 'number' },
        warnings: { type: 'array', items: { type: 'string' } },
      },
    },
    viewers: { type: 'object', additionalProperties: { type: 'integer' } },
  },
} as const;

/** An output's state and health, as `GET /api/v1/streams` shows it. */
function describeOutput(output: StreamOutput) {
  const progress = output.process?.progress;
  const lastSegmentAt = output.lastSegmentAt();
  return {
    kind: output.kind,
    state: output.state,
    pid: output.process?.pid,
    restarts: output.process?.restarts,
    fps: progress?.fps,
    speed: progress?.speed,
    droppedFrames: progress?.droppedFrames,
    duplicatedFrames: progress?.duplicatedFrames,
    lastSegmentAgeSec:
      lastSegmentAt === undefined
        ? undefined
        : Math.round(Math.max(0, Date.now() - lastSegmentAt) / 100) / 10,
    warnings: [...output.warnings],
  };
}
