// What the cluster tests do over and over: publish on a node over RTMP, call a node's admin API.
import { ADMIN_API_KEY, type TestServer } from './server.js';
import { RawRtmpClient } from './raw-rtmp-client.js';
import { eventually } from './http.js';
import { token } from './tokens.js';

/** An RTMP publisher on `server` with this stream key; its first status: `Publish.Start` or the refusal. */
export async function publishWith(server: TestServer, streamKey: string) {
  const client = await RawRtmpClient.open(server.rtmpPort);
  await client.handshake();
  client.connectApp('live');
  client.publish(streamKey);
  const status = await client.waitForStatus(
    (s) => s.code === 'NetStream.Publish.Start' || s.level === 'error',
    10_000,
  );
  if (!status) throw new Error(`no publish status for ${streamKey}`);
  if (status.code === 'NetStream.Publish.Start') client.sendMedia(0);
  return { client, status };
}

/** The same with a publish token for `live/<stream>`. */
export async function publishOn(server: TestServer, stream: string) {
  return publishWith(server, `${stream}?token=${await token(`live/${stream}`, 'publish', 600)}`);
}

/** Publishes until a node admits it (a change made on another node reaches this one first). */
export function publishOnceAdmitted(server: TestServer, streamKey: string) {
  return eventually(async () => {
    const attempt = await publishWith(server, streamKey);
    if (attempt.status.code === 'NetStream.Publish.Start') return attempt.client;
    attempt.client.destroy();
    return undefined;
  }, 10_000);
}

/** A call to a node's admin API with the test's API key. */
export const admin = (server: TestServer, path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${server.adminPort}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${ADMIN_API_KEY}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
  });
