import { keyPair } from './keys.js';
// A real OpenID provider (npm oidc-provider) on 127.0.0.1, issuing JWT access tokens for the
// client-credentials grant with a resource indicator, as an API gateway's IdP would.
import type { Server } from 'node:http';

import { exportJWK, type JWK } from 'jose';
import Provider from 'oidc-provider';
import { request } from 'node:http';

export const RESOURCE = 'urn:stagedoor';
const CLIENT = { id: 'cam-app', secret: 'cam-app-secret-cam-app-secret-0001' };

export async function signingJwk(kid: string): Promise<JWK> {
  const { privateKey } = keyPair('rsa', { modulusLength: 2048 });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

export interface RunningProvider {
  issuer: string;
  /** Requests to the JWKS endpoint so far. */
  jwksFetches: () => number;
  token(scope: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the provider with these signing keys (the first one signs). */
export async function startProvider(
  port: number,
  keys: JWK[],
  counter = { jwks: 0 },
): Promise<RunningProvider> {
  const issuer = `http://127.0.0.1:${port}`;
  const scopes = ['publish', 'play', 'publish:live/oidc', 'play:live/oidc', 'play:live/*'];
  const provider = new Provider(issuer, {
    jwks: { keys },
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
    ],
    scopes,
    ttl: { ClientCredentials: 600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: scopes.join(' '),
          audience: RESOURCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  provider.use(async (ctx, next) => {
    if (ctx.path === '/jwks') counter.jwks++;
    await next();
  });
  const server: Server = provider.listen(port, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    issuer,
    jwksFetches: () => counter.jwks,
    async token(scope) {
      // A fresh connection each time (agent: false): a pooled one may belong to a stopped instance.
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        scope,
        resource: RESOURCE,
      }).toString();
      const text = await new Promise<string>((resolve, reject) => {
        const req = request(
          `${issuer}/token`,
          {
            method: 'POST',
            agent: false,
            headers: {
              authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
              'content-type': 'application/x-www-form-urlencoded',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            let data = '';
            res.on('data', (d: Buffer) => (data += d.toString()));
            res.on('end', () => resolve(data));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      const parsed = JSON.parse(text) as { access_token?: string };
      if (!parsed.access_token) throw new Error(`no token: ${text}`);
      return parsed.access_token;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
