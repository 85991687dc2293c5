// The stream hub and a live stream, without sockets: one publisher per stream (or takeover), fan-out,
// what a late joiner receives first, and what the publisher leaving does to the viewers.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StreamHub } from '../../../src/media/stream-hub.js';
import { AccessUnit, StreamMetadata, type MediaUnit } from '../../../src/media/media-unit.js';
import type { MediaSink } from '../../../src/media/live-stream.js';
import { SessionRegistry } from '../../../src/sessions/session-registry.js';
import { anonymousGrant } from '../../../src/auth/authenticator.js';
import type { EndReason } from '../../../src/core/end-reasons.js';

const log = pino({ level: 'silent' });
const cam1 = { app: 'live', name: 'cam1' };

/** The kinds of unit a publisher sends, named for the assertions below. */
const PacketFlag = {
  AudioHeader: 'audio config',
  AudioFrame: 'audio',
  VideoHeader: 'video config',
  KeyFrame: 'key frame',
  InterFrame: 'inter frame',
  Metadata: 'metadata',
} as const;
type Flag = (typeof PacketFlag)[keyof typeof PacketFlag];

function packet(flag: Flag, size = 10): MediaUnit {
  if (flag === PacketFlag.Metadata) return new StreamMetadata(0, { width: 1280 });
  const audio = flag === PacketFlag.AudioHeader || flag === PacketFlag.AudioFrame;
  return new AccessUnit({
    track: audio ? 'audio' : 'video',
    codec: audio ? 'aac' : 'h264',
    dts: 0,
    pts: 0,
    key: flag === PacketFlag.KeyFrame,
    config: flag === PacketFlag.AudioHeader || flag === PacketFlag.VideoHeader,
    payload: Buffer.alloc(size, 1),
  });
}

function flagOf(unit: MediaUnit): Flag {
  if (unit.kind === 'metadata') return PacketFlag.Metadata;
  if (unit.track === 'audio') return unit.config ? PacketFlag.AudioHeader : PacketFlag.AudioFrame;
  if (unit.config) return PacketFlag.VideoHeader;
  return unit.key ? PacketFlag.KeyFrame : PacketFlag.InterFrame;
}

class Sink implements MediaSink {
  readonly received: Flag[] = [];
  ended: EndReason | undefined;
  constructor(readonly id: string) {}
  deliver(unit: MediaUnit): void {
    this.received.push(flagOf(unit));
  }
  end(reason: EndReason): void {
    this.ended = reason;
  }
}

function publisherSession(registry: SessionRegistry) {
  return registry.open({
    kind: 'publisher',
    protocol: 'rtmp',
    stream: cam1,
    grant: anonymousGrant(),
    address: '127.0.0.1',
    terminate: () => {},
  });
}

describe('StreamHub', () => {
  it('lets one publisher hold a stream and refuses a second with STREAM_BUSY', () => {
    const registry = new SessionRegistry(log);
    const hub = new StreamHub({ publisherTakeover: false, gopCacheBytes: 1024 });
    const first = publisherSession(registry);
    hub.assertCanPublish(cam1);
    hub.claim(cam1, first);
    expect(() => hub.assertCanPublish(cam1)).toThrow(
      expect.objectContaining({ code: 'STREAM_BUSY' }),
    );
    expect(() => hub.claim(cam1, publisherSession(registry))).toThrow(
      expect.objectContaining({ code: 'STREAM_BUSY' }),
    );
  });

  it('with takeover, the new publisher replaces the old one (taken-over) and the viewers stay', () => {
    const registry = new SessionRegistry(log);
    const hub = new StreamHub({ publisherTakeover: true, gopCacheBytes: 1024 });
    const first = publisherSession(registry);
    const stream = hub.claim(cam1, first);
    const viewer = new Sink('v1');
    hub.attach(cam1, viewer);
    const second = publisherSession(registry);
    expect(hub.claim(cam1, second)).toBe(stream);
    expect(first.endReason).toBe('taken-over');
    expect(viewer.ended).toBeUndefined();
    expect(stream.publisher).toBe(second);
  });

  it('gives a late viewer the headers and the current GOP, from its key frame, then live packets', () => {
    const registry = new SessionRegistry(log);
    const hub = new StreamHub({ publisherTakeover: false, gopCacheBytes: 1024 });
    const stream = hub.claim(cam1, publisherSession(registry));
    for (const flags of [
      PacketFlag.Metadata,
      PacketFlag.AudioHeader,
      PacketFlag.VideoHeader,
      PacketFlag.InterFrame,
      PacketFlag.KeyFrame,
      PacketFlag.AudioFrame,
      PacketFlag.InterFrame,
    ])
      stream.write(packet(flags));
    const late = new Sink('late');
    hub.attach(cam1, late);
    // Metadata, then video header before audio header, then the GOP from its key frame.
    expect(late.received).toEqual([
      PacketFlag.Metadata,
      PacketFlag.VideoHeader,
      PacketFlag.AudioHeader,
      PacketFlag.KeyFrame,
      PacketFlag.AudioFrame,
      PacketFlag.InterFrame,
    ]);
    stream.write(packet(PacketFlag.InterFrame));
    expect(late.received.at(-1)).toBe(PacketFlag.InterFrame);
  });

  it('drops a GOP larger than the cache rather than sending a viewer half of one', () => {
    const registry = new SessionRegistry(log);
    const hub = new StreamHub({ publisherTakeover: false, gopCacheBytes: 25 });
    const stream = hub.claim(cam1, publisherSession(registry));
    for (const flags of [
      PacketFlag.VideoHeader,
      PacketFlag.KeyFrame,
      PacketFlag.InterFrame,
      PacketFlag.InterFrame,
    ])
      stream.write(packet(flags));
    expect(stream.startupUnits().map(flagOf)).toEqual([PacketFlag.VideoHeader]);
  });

  it('ends the viewers (publisher-gone) and forgets the stream when its publisher leaves', () => {
    const registry = new SessionRegistry(log);
    const hub = new StreamHub({ publisherTakeover: false, gopCacheBytes: 1024 });
    const events: string[] = [];
    hub.onStream((event, s) => events.push(`${event} ${s.key}`));
    const publisher = publisherSession(registry);
    const stream = hub.claim(cam1, publisher);
    const viewer = new Sink('v1');
    hub.attach(cam1, viewer);
    hub.release(stream, publisher);
    expect(viewer.ended).toBe('publisher-gone');
    expect(hub.get(cam1)).toBeUndefined();
    expect(events).toEqual(['publish live/cam1', 'unpublish live/cam1']);
    // A release by someone who is not the publisher changes nothing.
    const again = hub.claim(cam1, publisherSession(registry));
    hub.release(again, publisher);
    expect(hub.get(cam1)?.publisher).not.toBeNull();
  });
});
