import { createHmac } from 'node:crypto';
import type { CdnTokenRequest, CdnTokenWriter } from './cdn-token.js';

export interface AkamaiTokenOptions {
  /** The property's token key, hex (as Akamai's Property Manager shows it). */
  key: string;
  /** The query parameter the property reads the token from (Akamai's default `hdnts`). */
  tokenName: string;
  algorithm: 'sha256' | 'sha1' | 'md5';
  /** Bind the token to the viewer's address (`ip=`): only where the CDN sees the same address. */
  bindAddress: boolean;
}

/**
 * Akamai Auth Token 2.0 (EdgeAuth): `exp=<s>~acl=<dir>*~id=<viewer>~hmac=<hex>`, the HMAC (with the
 * hex-decoded key) over the fields before it joined with `~`, as Akamai's EdgeAuth libraries compute
 * it (akamai-edgeauth's generateACLToken gives the same token for the same inputs: tested). The ACL
 * is the stream's directory, so the token opens that stream's segments and parts and nothing else.
 */
export class AkamaiTokenWriter implements CdnTokenWriter {
  readonly format = 'akamai';
  readonly params: readonly string[];
  readonly #key: Buffer;
  readonly #options: AkamaiTokenOptions;

  constructor(options: AkamaiTokenOptions) {
    this.#options = options;
    this.#key = Buffer.from(options.key, 'hex');
    this.params = [options.tokenName];
  }

  sign(request: CdnTokenRequest): string {
    const fields = [
      ...(this.#options.bindAddress ? [`ip=${request.address}`] : []),
      `exp=${Math.floor(request.expiresAt / 1000)}`,
      `acl=${request.dir}*`, // stream paths are [A-Za-z0-9_-]: nothing to escape
      `id=${request.viewerId}`,
    ];
    const body = fields.join('~');
    const hmac = createHmac(this.#options.algorithm, this.#key).update(body).digest('hex');
    return `${this.#options.tokenName}=${body}~hmac=${hmac}`;
  }
}
