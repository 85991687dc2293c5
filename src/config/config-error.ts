import { StagedoorError } from '../errors.js';

/** A startup configuration error naming the key at fault: `invalid configuration: "http.tls.cert": …`. */
export function configError(where: string, message: string, cause?: unknown): StagedoorError {
  return new StagedoorError('CONFIG_INVALID', `invalid configuration: "${where}": ${message}`, {
    cause,
  });
}
