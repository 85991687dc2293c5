import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));
const resolve = createRequire(import.meta.url).resolve;

/** What the dashboard page loads (its icon too), all from this port: no CDN, no build step. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/dashboard.js': { file: `${PUBLIC_DIR}dashboard.js`, type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: `${PUBLIC_DIR}dashboard.css`, type: 'text/css; charset=utf-8' },
  '/assets/uplot.js': {
    file: resolve('uplot/dist/uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/assets/uplot.css': {
    file: resolve('uplot/dist/uPlot.min.css'),
    type: 'text/css; charset=utf-8',
  },
  '/favicon.svg': { file: `${PUBLIC_DIR}favicon.svg`, type: 'image/svg+xml' },
  // For browsers that ask for it whatever the page links.
  '/favicon.ico': { file: `${PUBLIC_DIR}favicon.svg`, type: 'image/svg+xml' },
  '/assets/hls.js': {
    file: resolve('hls.js/dist/hls.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

/** Paths that need no credential: the page and its scripts and styles (they hold no data). */
export const DASHBOARD_PATHS = ['/', ...Object.keys(ASSETS)];

/** The dashboard page and its assets, read once at start. */
export function dashboardRoutes(app: FastifyInstance): void {
  const page = readFileSync(`${PUBLIC_DIR}dashboard.html`);
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; media-src 'self' blob:; worker-src blob:; img-src 'self' data:; frame-ancestors 'none'",
      )
      .header('x-frame-options', 'DENY')
      .send(page),
  );
  for (const [path, asset] of Object.entries(ASSETS)) {
    const bytes = readFileSync(asset.file);
    app.get(path, { schema: { hide: true } }, async (_request, reply) =>
      reply.header('content-type', asset.type).header('cache-control', 'no-cache').send(bytes),
    );
  }
}
