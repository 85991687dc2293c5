// Sockets handed over by a service manager (systemd socket activation), read as sd_listen_fds(3)
// says: LISTEN_FDS descriptors from 3, named by LISTEN_FDNAMES, only for the process LISTEN_PID names.
import { describe, expect, it } from 'vitest';
import { inheritedSockets } from '../../../src/net/listen.js';

describe('inherited sockets', () => {
  it('names the descriptors from 3 on', () => {
    const env = { LISTEN_FDS: '3', LISTEN_FDNAMES: 'http:rtmp:admin', LISTEN_PID: '42' };
    expect([...inheritedSockets(env, 42)]).toEqual([
      ['http', 3],
      ['rtmp', 4],
      ['admin', 5],
    ]);
  });

  it('ignores sockets meant for another process, and none at all', () => {
    expect(inheritedSockets({ LISTEN_FDS: '1', LISTEN_PID: '41' }, 42).size).toBe(0);
    expect(inheritedSockets({}, 42).size).toBe(0);
    expect(inheritedSockets({ LISTEN_FDS: 'x' }, 42).size).toBe(0);
    expect([...inheritedSockets({ LISTEN_FDS: '1' }, 42)]).toEqual([['fd3', 3]]);
  });
});
