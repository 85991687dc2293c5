import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { configError } from '../../../config/config-error.js';
import type { CdnPassConfig } from '../../../config/schema.js';
import { AkamaiTokenWriter } from './akamai-token.js';
import { BunnyTokenWriter } from './bunny-token.js';
import type { CdnTokenWriter } from './cdn-token.js';
import { CatPassWriter } from './cat-pass-token.js';
import { CloudFrontTokenWriter } from './cloudfront-token.js';
import { GoogleTokenWriter } from './google-token.js';

const WHERE = 'hls.passes.cdn';

/** The writer `hls.passes.cdn` names; CONFIG_INVALID for key material that cannot sign. */
export function cdnTokenWriter(config: CdnPassConfig): CdnTokenWriter {
  switch (config.format) {
    case 'akamai':
      return new AkamaiTokenWriter(config);
    case 'cloudfront':
      checkCookieDomain(config);
      return new CloudFrontTokenWriter({ ...config, privateKey: cloudFrontKey(config) });
    case 'google':
      checkCookieDomain(config);
      return new GoogleTokenWriter(config);
    case 'bunny':
      if (config.bindAddress && config.algorithm !== 'HS256')
        throw configError(`${WHERE}.bindAddress`, 'Bunny binds an address in HS256 tokens only');
      return new BunnyTokenWriter(config);
    case 'cat':
      if (config.renewal && config.renewal.deadlineSec >= config.renewal.expAddSec)
        throw configError(`${WHERE}.renewal`, 'deadlineSec must be below expAddSec');
      return new CatPassWriter(config);
  }
}

/**
 * A cookie Domain is for cookie delivery only, and must cover the host media is fetched from
 * (`baseUrl`), or the browser never sends the cookies with a segment request.
 */
function checkCookieDomain(config: {
  baseUrl: string;
  delivery: 'url' | 'cookie';
  cookieDomain?: string | undefined;
}): void {
  if (config.cookieDomain === undefined) return;
  if (config.delivery !== 'cookie')
    throw configError(`${WHERE}.cookieDomain`, 'a cookie Domain needs delivery "cookie"');
  const host = new URL(config.baseUrl).hostname;
  const domain = config.cookieDomain.replace(/^\./, '').toLowerCase();
  if (domain === 'cloudfront.net')
    throw configError(
      `${WHERE}.cookieDomain`,
      'cloudfront.net is a public suffix: browsers refuse it',
    );
  if (host !== domain && !host.endsWith(`.${domain}`))
    throw configError(
      `${WHERE}.cookieDomain`,
      `${config.cookieDomain} does not cover ${host}, where media is fetched (baseUrl)`,
    );
}

function cloudFrontKey(config: Extract<CdnPassConfig, { format: 'cloudfront' }>): string {
  if ((config.privateKey === undefined) === (config.privateKeyFile === undefined))
    throw configError(WHERE, 'give exactly one of privateKey and privateKeyFile');
  let pem: string;
  try {
    pem = config.privateKey ?? readFileSync(config.privateKeyFile!, 'utf8');
  } catch (cause) {
    throw configError(`${WHERE}.privateKeyFile`, `cannot read ${config.privateKeyFile}`, cause);
  }
  let type: string | undefined;
  try {
    type = createPrivateKey(pem).asymmetricKeyType;
  } catch (cause) {
    throw configError(WHERE, 'the private key is not a PEM private key', cause);
  }
  if (type !== 'rsa' && type !== 'ec')
    throw configError(WHERE, `CloudFront keys are RSA or ECDSA, not ${type}`);
  return pem;
}
