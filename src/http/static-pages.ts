import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

/**
 * The built-in pages (player, publisher), their icon and the one vendored script they use, read once
 * at start.
 * The player may be framed by this server and `playerEmbedOrigins`; the publisher page (camera,
 * token) never by another site.
 */
export function registerStaticPages(
  app: FastifyInstance,
  options: { playerEmbedOrigins: readonly string[] },
): void {
  const playerAncestors = ["'self'", ...options.playerEmbedOrigins].join(' ');
  const player = readFileSync(`${PUBLIC_DIR}player.html`);
  const publisher = readFileSync(`${PUBLIC_DIR}publish.html`);
  const hlsJs = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));
  const icon = readFileSync(`${PUBLIC_DIR}favicon.svg`);
  app.get('/player.html', async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header(
        'content-security-policy',
        `default-src 'self'; script-src 'self' 'unsafe-inline'; media-src 'self' blob:; worker-src blob:; style-src 'unsafe-inline'; frame-ancestors ${playerAncestors}`,
      )
      .send(player),
  );
  app.get('/publish.html', async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'unsafe-inline'; connect-src 'self'; media-src 'self' blob: mediastream:; style-src 'unsafe-inline'; frame-ancestors 'self'",
      )
      .header('x-frame-options', 'SAMEORIGIN')
      .send(publisher),
  );
  app.get('/vendor/hls.min.js', async (_request, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=86400')
      .send(hlsJs),
  );
  // The pages link /favicon.svg; /favicon.ico too, for browsers that ask for it regardless.
  for (const path of ['/favicon.svg', '/favicon.ico'])
    app.get(path, async (_request, reply) =>
      reply
        .header('content-type', 'image/svg+xml')
        .header('cache-control', 'public, max-age=86400')
        .send(icon),
    );
}
