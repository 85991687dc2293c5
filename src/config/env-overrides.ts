import { readFileSync } from 'node:fs';
import { StagedoorError } from '../errors.js';

/**
 * Any config key from the environment, as MediaMTX does for its own: `STAGEDOOR_` then the key's
 * path, parts joined by `__`, each part in upper snake case (`STAGEDOOR_HTTP__PORT=8080`,
 * `STAGEDOOR_HLS__SEGMENT_SEC=2`, `STAGEDOOR_AUTH__KEYS__0__SECRET=…`; numbers are array indexes).
 * `…_FILE` reads the value from a file (container secrets), as a string. A value that reads as JSON
 * (a number, `true`, `[…]`, `{…}`, `"…"`) is taken as that; anything else as a string.
 */
export interface EnvOverride {
  /** The variable, for errors that name it. */
  variable: string;
  path: Array<string | number>;
  value: unknown;
}

const PREFIX = 'STAGEDOOR_';
/** Variables that are not config keys: the config file's path and the FFmpeg binary. */
const NOT_KEYS = new Set(['STAGEDOOR_CONFIG', 'STAGEDOOR_FFMPEG']);
/** The single-underscore names the README has always documented for nested keys, kept working. */
const LEGACY: Record<string, Array<string | number>> = {
  STAGEDOOR_RTMP_HOST: ['rtmp', 'host'],
  STAGEDOOR_RTMP_PORT: ['rtmp', 'port'],
  STAGEDOOR_HTTP_HOST: ['http', 'host'],
  STAGEDOOR_HTTP_PORT: ['http', 'port'],
  STAGEDOOR_ADMIN_HOST: ['admin', 'host'],
  STAGEDOOR_ADMIN_PORT: ['admin', 'port'],
  STAGEDOOR_LOG_LEVEL: ['log', 'level'],
};

export function envOverrides(env: NodeJS.ProcessEnv): EnvOverride[] {
  const overrides: EnvOverride[] = [];
  for (const [variable, text] of Object.entries(env)) {
    if (!variable.startsWith(PREFIX) || NOT_KEYS.has(variable) || text === undefined || text === '')
      continue;
    const fromFile = variable.endsWith('_FILE') && !(variable in LEGACY);
    const name = fromFile ? variable.slice(0, -'_FILE'.length) : variable;
    const path = LEGACY[name] ?? pathOf(name.slice(PREFIX.length));
    overrides.push({
      variable,
      path,
      value: fromFile ? readSecret(variable, text) : parseValue(text),
    });
  }
  return overrides;
}

/**
 * `HLS__SEGMENT_SEC` → ['hls', 'segmentSec']; `AUTH__KEYS__0__KID` → ['auth', 'keys', 0, 'kid'];
 * `STATE_DIR` → ['stateDir']. A name that is no key is refused by validation, naming the variable.
 */
function pathOf(rest: string): Array<string | number> {
  return rest
    .split('__')
    .map((part) =>
      /^\d+$/.test(part)
        ? Number(part)
        : part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
    );
}

/** The variable that sets a config key, as named above: ['rtmp', 'port'] → `STAGEDOOR_RTMP__PORT`. */
export function envVariableFor(path: ReadonlyArray<string | number>): string {
  return (
    PREFIX +
    path
      .map((part) =>
        typeof part === 'number'
          ? String(part)
          : part.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase(),
      )
      .join('__')
  );
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function readSecret(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (cause) {
    throw new StagedoorError('CONFIG_INVALID', `${variable}: cannot read ${file}`, { cause });
  }
}

/** Sets each override into `target` (a parsed config file), making objects and arrays on the way. */
export function applyOverrides(target: Record<string, unknown>, overrides: EnvOverride[]): void {
  for (const { path, value } of overrides) {
    let node: Record<string | number, unknown> = target;
    path.slice(0, -1).forEach((key, i) => {
      const next = node[key];
      if (typeof next !== 'object' || next === null)
        node[key] = typeof path[i + 1] === 'number' ? [] : {};
      node = node[key] as Record<string | number, unknown>;
    });
    node[path[path.length - 1]!] = value;
  }
}
