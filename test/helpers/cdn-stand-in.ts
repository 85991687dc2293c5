// A local stand-in for a CDN: forwards every request to the origin, and first checks each segment,
// init and part request (not playlists or keys, which CDNs pass to the origin) with the vendor's
// verifier, answering 403 as the CDN would when it does not verify. Listens on 127.0.0.1.
import { createServer, request, type Server } from 'node:http';
import type { Verdict } from './cdn-verifiers.js';

export interface CdnStandIn {
  port: number;
  /** Each checked request's path and verdict, in order. */
  checked: Array<{ path: string; verdict: Verdict }>;
  stop(): Promise<void>;
}

const CHECKED = /\.(m4s|mp4|ts|aac)$/;

/**
 * `verify` gets the URL as the CDN sees it (the request's path and query on `publicBase`) and the
 * request's Cookie header.
 */
export async function startCdnStandIn(
  originPort: number,
  publicBase: string,
  verify: (url: URL, cookie: string | undefined) => Verdict,
): Promise<CdnStandIn> {
  const checked: CdnStandIn['checked'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', publicBase);
    if (CHECKED.test(url.pathname)) {
      const verdict = verify(url, req.headers.cookie);
      checked.push({ path: url.pathname, verdict });
      if (verdict !== 'ok') {
        res.writeHead(403, { 'content-type': 'text/plain' }).end(`refused at the CDN: ${verdict}`);
        return;
      }
    }
    const upstream = request(
      {
        host: '127.0.0.1',
        port: originPort,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    checked,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
