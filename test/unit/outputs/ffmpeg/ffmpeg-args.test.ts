import { describe, expect, it } from 'vitest';
import { buildFfmpegArgs } from '../../../../src/outputs/ffmpeg/ffmpeg-args.js';
import {
  avcCodecString,
  buildMasterPlaylist,
} from '../../../../src/outputs/ffmpeg/master-playlist.js';
import type { RenditionConfig } from '../../../../src/config/schema.js';

const copy: RenditionConfig = { name: 'copy', copy: true };
const rung = (name: string, height: number, kbps: number): RenditionConfig => ({
  name,
  height,
  videoBitrateKbps: kbps,
  audioBitrateKbps: 96,
  preset: 'veryfast',
});
const h264aac = { hasAudio: true, videoIsH264: true, audioIsAac: true };
const base = {
  outputDir: '/m/live/cam1',
  segmentSec: 1,
  playlistSize: 6,
  append: false,
  probeBytes: 700,
};

const valueOf = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('buildFfmpegArgs', () => {
  it('passes H.264/AAC through for a copy-only stream: no filter, no encoder, FLV from stdin', () => {
    const args = buildFfmpegArgs({ ...base, renditions: [copy], tracks: h264aac });
    expect(args.slice(0, 20)).toEqual([
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'warning',
      '-progress',
      'pipe:1',
      '-stats_period',
      '1',
      '-fflags',
      '+genpts',
      '-probesize',
      '700',
      '-analyzeduration',
      '0',
      '-f',
      'flv',
      '-i',
      'pipe:0',
      '-map',
      '0:v:0',
    ]);
    expect(args).not.toContain('-filter_complex');
    expect(args).not.toContain('libx264');
    expect(valueOf(args, '-c:v:0')).toBe('copy');
    expect(valueOf(args, '-c:a:0')).toBe('copy');
    expect(valueOf(args, '-var_stream_map')).toBe('v:0,a:0,name:copy');
    expect(args.at(-1)).toBe('/m/live/cam1/%v.m3u8');
    expect(valueOf(args, '-hls_segment_filename')).toBe('/m/live/cam1/%v_%05d.ts');
    expect(valueOf(args, '-hls_time')).toBe('1');
    expect(valueOf(args, '-hls_list_size')).toBe('6');
    expect(valueOf(args, '-hls_flags')).toBe(
      'delete_segments+independent_segments+temp_file+program_date_time',
    );
  });

  it('decodes once and splits for a ladder, forcing key frames on segment boundaries', () => {
    const args = buildFfmpegArgs({
      ...base,
      segmentSec: 2,
      renditions: [copy, rung('720p', 720, 2800), rung('360p', 360, 800)],
      tracks: h264aac,
    });
    expect(valueOf(args, '-filter_complex')).toBe(
      '[0:v:0]split=2[s0][s1];[s0]scale=-2:720[v0];[s1]scale=-2:360[v1]',
    );
    expect(valueOf(args, '-c:v:1')).toBe('libx264');
    expect(valueOf(args, '-b:v:1')).toBe('2800k');
    expect(valueOf(args, '-b:v:2')).toBe('800k');
    expect(valueOf(args, '-force_key_frames:v:2')).toBe('expr:gte(t,n_forced*2)');
    expect(valueOf(args, '-var_stream_map')).toBe(
      'v:0,a:0,name:copy v:1,a:1,name:720p v:2,a:2,name:360p',
    );
    expect(args.filter((a) => a === '0:a:0')).toHaveLength(3);
  });

  it('re-encodes audio that is not AAC, and video that is not H.264 even for the copy rendition', () => {
    const args = buildFfmpegArgs({
      ...base,
      renditions: [copy],
      tracks: { hasAudio: true, videoIsH264: false, audioIsAac: false },
    });
    expect(valueOf(args, '-filter_complex')).toBe('[0:v:0]null[s0];[s0]null[v0]');
    expect(valueOf(args, '-c:v:0')).toBe('libx264');
    expect(valueOf(args, '-c:a:0')).toBe('aac');
  });

  it('maps no audio for a video-only publisher', () => {
    const args = buildFfmpegArgs({
      ...base,
      renditions: [copy],
      tracks: { hasAudio: false, videoIsH264: true, audioIsAac: false },
    });
    expect(args).not.toContain('0:a:0');
    expect(valueOf(args, '-var_stream_map')).toBe('v:0,name:copy');
  });

  it('continues the playlists after a restart and rotates keys when encrypting', () => {
    const args = buildFfmpegArgs({
      ...base,
      renditions: [copy],
      tracks: h264aac,
      append: true,
      keyInfoFile: '/m/live/cam1/.keyinfo',
    });
    expect(valueOf(args, '-hls_flags')).toContain('append_list+periodic_rekey');
    expect(valueOf(args, '-hls_key_info_file')).toBe('/m/live/cam1/.keyinfo');
  });

  it('never builds a shell string: names are single arguments', () => {
    const args = buildFfmpegArgs({
      ...base,
      outputDir: '/m/live/a b;rm -rf',
      renditions: [copy],
      tracks: h264aac,
    });
    expect(args).toContain('/m/live/a b;rm -rf/%v.m3u8');
  });
});

describe('master playlist', () => {
  it('lists every rendition with bandwidth, resolution and codecs', () => {
    const text = buildMasterPlaylist([copy, rung('360p', 360, 800)], {
      width: 1280,
      height: 720,
      bitrate: 3_000_000,
      videoCodec: 'avc1.64001f',
      hasAudio: true,
    });
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"',
        'copy.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=976000,RESOLUTION=640x360,CODECS="avc1.64001f,mp4a.40.2"',
        '360p.m3u8',
        '',
      ].join('\n'),
    );
  });

  it('reads the codec string from an AVC decoder configuration record', () => {
    expect(avcCodecString(Buffer.from([1, 0x64, 0x00, 0x1f, 0xff]))).toBe('avc1.64001f');
    expect(avcCodecString(Buffer.from([0, 0, 0]))).toBeUndefined();
  });
});
