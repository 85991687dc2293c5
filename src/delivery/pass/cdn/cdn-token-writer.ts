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
      return new CloudFrontTokenWriter({ ...config, privateKey: cloudFrontKey(config) });
    case 'google':
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
