import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { JsonStateFile } from '../state/json-state-file.js';

/** Opens run-time state files under `stateDir`, all logging as the `state` component. */
export function stateFiles(config: Config, log: Logger): <T>(file: string) => JsonStateFile<T> {
  const stateLog = log.child({ component: 'state' });
  return <T>(file: string) => new JsonStateFile<T>(join(config.stateDir, file), stateLog);
}
