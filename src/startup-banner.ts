import type { Config } from './config/schema.js';
import type { KeyStore } from './auth/key-store.js';
import { mintToken } from './auth/mint-token.js';

/** package.json's engines allow Node 20.19 and later; the README, the Dockerfile and this agree on 22+. */
const RECOMMENDED_NODE_MAJOR = 22;

/**
 * Human instructions printed at start: how to publish from OBS or ffmpeg and how to play, with
 * ready-made short-lived tokens when the server holds a signing secret (the dev default does).
 */
export async function startupBanner(
  config: Config,
  keys: KeyStore,
  ports: { rtmp: number; http: number; admin?: number | undefined; rtmps?: number | undefined },
  now = Date.now(),
  nodeVersion = process.versions.node,
): Promise<string> {
  const { app, stream, publicHost, tokenTtlSec } = config.banner;
  const rtmpBase = `rtmp://${publicHost}:${ports.rtmp}/${app}`;
  const httpBase = `${config.http.tls ? 'https' : 'http'}://${publicHost}:${ports.http}`;
  const rtmpsBase =
    ports.rtmps !== undefined ? `rtmps://${publicHost}:${ports.rtmps}/${app}` : undefined;
  const signer = keys.signingKeys().find((k) => k.actions.has('publish') && k.actions.has('play'));
  const lines = ['', `Stagedoor is up (Node ${nodeVersion}).`, ''];
  if (Number(nodeVersion.split('.')[0]) < RECOMMENDED_NODE_MAJOR)
    lines.push(
      `  Node ${nodeVersion.split('.')[0]} is past its end of life: run Node 22 or 24 (Node 20.19 and later still work).`,
      '',
    );
  if (!signer) {
    lines.push(
      `  Publish (OBS):  Server ${rtmpBase}   Stream key ${stream}?token=<JWT>`,
      `  Play:           ffplay '${rtmpBase}/${stream}?token=<JWT>'   or   ${httpBase}/${app}/${stream}/index.m3u8?token=<JWT>`,
      '',
      '  No HS key with publish and play is configured here, so no ready-made token can be printed:',
      '  sign tokens with your issuer (exp required; sub, when present, names the one stream the token is for).',
      '',
    );
    return lines.join('\n');
  }
  const subject = `${app}/${stream}`;
  const publishToken = await mintToken(signer, {
    subject,
    scope: 'publish',
    ttlSec: tokenTtlSec,
    now,
  });
  const playToken = await mintToken(signer, { subject, scope: 'play', ttlSec: tokenTtlSec, now });
  const until = new Date(now + tokenTtlSec * 1000).toISOString();
  lines.push(
    `  Publish from OBS: Settings → Stream → Service "Custom"`,
    `    Server:      ${rtmpBase}`,
    `    Stream key:  ${stream}?token=${publishToken}`,
    ...(rtmpsBase ? [`    (or over TLS: Server ${rtmpsBase})`] : []),
    '',
    ...(config.ws.enabled && config.hls.enabled
      ? [
          '  Publish from a browser (camera, over WebSocket):',
          `    ${httpBase}/publish.html#stream=${app}/${stream}&token=${publishToken}`,
          '',
        ]
      : []),
    '  Publish from ffmpeg:',
    `    ffmpeg -re -f lavfi -i testsrc=size=1280x720:rate=30 -f lavfi -i sine -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 30 -c:a aac -f flv '${rtmpBase}/${stream}?token=${publishToken}'`,
    '',
    ...(config.hls.enabled
      ? [
          '  Watch in a browser (built-in hls.js player):',
          `    ${httpBase}/player.html#stream=${app}/${stream}&token=${playToken}`,
          '',
          '  Play HLS (VLC, ffplay, Safari, any HLS player):',
          `    ${httpBase}/${app}/${stream}/index.m3u8?token=${playToken}`,
          '',
        ]
      : []),
    '  Play RTMP:',
    `    ffplay '${rtmpBase}/${stream}?token=${playToken}'`,
    '',
    `  These tokens (kid ${signer.kid ?? '-'}, sub ${subject}) are valid until ${until}; they are cut off then.`,
    '',
  );
  if (ports.admin !== undefined && signer.actions.has('admin')) {
    const adminToken = await mintToken(signer, {
      subject: 'dev-operator',
      scope: 'admin',
      ttlSec: tokenTtlSec,
      now,
    });
    const adminBase = `http://${config.admin.host === '0.0.0.0' ? publicHost : config.admin.host}:${ports.admin}`;
    lines.push(
      '  Dashboard (admin, on its own port):',
      `    ${adminBase}/#token=${adminToken}`,
      `  Admin API: curl -H 'Authorization: Bearer ${adminToken}' ${adminBase}/api/v1/sessions`,
      '',
    );
  }
  return lines.join('\n');
}
