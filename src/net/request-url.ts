import type { BlockList } from 'node:net';
import { listHas } from './client-address.js';
import { normalizeAddress } from './address.js';

/**
 * The URL a credential was presented on, as the client asked for it: the HLS request's, the
 * WebSocket upgrade's, or the RTMP `tcUrl` with the stream's path and the stream key's query. The
 * query leaves out the credential itself (`token`, `jwt`), which cannot name itself.
 */
export interface RequestUrl {
  scheme: string;
  /** Lower case, without the port. */
  host: string;
  /** As written in the URL; '' when it is not given. */
  port: string;
  /** Starts with '/'. */
  path: string;
  /** Without '?'; '' when there is none. */
  query: string;
}

/** `host[:port]` (an IPv6 literal in brackets) into its host and port. */
function splitAuthority(authority: string): { host: string; port: string } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(authority.trim());
  return { host: (match?.[1] ?? '').toLowerCase(), port: match?.[2] ?? '' };
}

/** The request URL from its parts, the credential's own parameters taken out of the query. */
export function requestUrl(scheme: string, authority: string, target: string): RequestUrl {
  // As the router reads it: the path ends at the first `?` or `#`, and the query is all that follows
  // that character (a `#` in a request line must not smuggle text into the path a catu rule is
  // matched against, nor hide parameters the server acts on from its query rule).
  const at = target.search(/[?#]/);
  const path = at < 0 ? target : target.slice(0, at);
  const params = new URLSearchParams(at < 0 ? '' : target.slice(at + 1));
  params.delete('token');
  params.delete('jwt');
  return {
    scheme: scheme.toLowerCase(),
    ...splitAuthority(authority),
    path,
    query: params.toString(),
  };
}

const first = (value: string | string[] | undefined): string | undefined =>
  (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim() || undefined;

/**
 * A RequestUrl worked out on first use: most requests carry a token without `catu`, or a pass, and
 * never look at their URL, while parsing the query for one costs more than the rest of a playlist
 * request's admission. (A class: its getters live on the prototype, so making one is cheap.)
 */
class LazyRequestUrl implements RequestUrl {
  #made: RequestUrl | undefined;
  readonly #make: () => RequestUrl;

  constructor(make: () => RequestUrl) {
    this.#make = make;
  }

  get #url(): RequestUrl {
    return (this.#made ??= this.#make());
  }
  get scheme(): string {
    return this.#url.scheme;
  }
  get host(): string {
    return this.#url.host;
  }
  get port(): string {
    return this.#url.port;
  }
  get path(): string {
    return this.#url.path;
  }
  get query(): string {
    return this.#url.query;
  }
  toJSON(): RequestUrl {
    return { ...this.#url };
  }
}

/**
 * An HTTP or WebSocket request's URL. `X-Forwarded-Proto` and `X-Forwarded-Host` are believed only
 * from a trusted proxy, as `X-Forwarded-For` is. What it is read from is taken now (the socket may be
 * gone by the time it is read); it is parsed when first read.
 */
export function httpRequestUrl(
  request: {
    url?: string | undefined;
    headers: Record<string, string | string[] | undefined>;
    socket: { remoteAddress?: string | undefined; encrypted?: boolean };
  },
  trusted: BlockList | undefined,
  websocket = false,
): RequestUrl {
  const fromProxy =
    trusted !== undefined && listHas(trusted, normalizeAddress(request.socket.remoteAddress));
  const secure = request.socket.encrypted === true;
  const target = request.url ?? '/';
  const host = request.headers.host;
  const forwardedProto = fromProxy ? request.headers['x-forwarded-proto'] : undefined;
  const forwardedHost = fromProxy ? request.headers['x-forwarded-host'] : undefined;
  return new LazyRequestUrl(() => {
    let scheme = websocket ? (secure ? 'wss' : 'ws') : secure ? 'https' : 'http';
    let authority = first(host) ?? '';
    if (fromProxy) {
      const proto = first(forwardedProto);
      if (proto && /^https?$/i.test(proto))
        scheme = websocket ? (proto.toLowerCase() === 'https' ? 'wss' : 'ws') : proto;
      authority = first(forwardedHost) ?? authority;
    }
    return requestUrl(scheme, authority, target);
  });
}
