import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stripJsonComments } from './jsonc.js';
import { z } from 'zod';
import { StagedoorError } from '../errors.js';
import { configSchema, type Config } from './schema.js';
import { applyOverrides, envOverrides, type EnvOverride } from './env-overrides.js';

/** Validates a config object: defaults filled in, unknown keys refused, errors name the key. */
export function parseConfig(input: unknown, overrides: EnvOverride[] = []): Config {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => describeIssue(issue, overrides));
  throw new StagedoorError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, {
    cause: result.error,
  });
}

function describeIssue(issue: z.core.$ZodIssue, overrides: EnvOverride[]): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((k) => {
        const key = where ? `${where}.${k}` : k;
        return `unknown key "${key}"${fromVariable(key, overrides)}`;
      })
      .join('; ');
  }
  return `"${where || '(root)'}": ${issue.message}${fromVariable(where, overrides)}`;
}

/** ` (from STAGEDOOR_…)` when the key, or a key inside it, was set from the environment. */
function fromVariable(where: string, overrides: EnvOverride[]): string {
  const hit = overrides.find((o) => {
    const path = formatPath(o.path);
    return (
      path === where ||
      path.startsWith(`${where}.`) ||
      path.startsWith(`${where}[`) ||
      where.startsWith(`${path}.`)
    );
  });
  return hit ? ` (from ${hit.variable})` : '';
}

/** A key's path as the docs write it: `auth.keys[0].secret`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

export interface LoadConfigOptions {
  /** Path of the config file: JSON, with `//` and block comments allowed. */
  file: string;
  env?: NodeJS.ProcessEnv;
}

/** A validated config and the `STAGEDOOR_*` variables that set keys in it. */
export interface LoadedConfig {
  config: Config;
  overrides: EnvOverride[];
}

/** Reads defaults → file → environment, validates once. */
export function loadConfig(options: LoadConfigOptions): Config {
  return readConfig(options).config;
}

/** As `loadConfig`, also telling which variables were applied (`stagedoor config check` lists them). */
export function readConfig({ file, env = process.env }: LoadConfigOptions): LoadedConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(stripJsonComments(readFileSync(file, 'utf8')));
  } catch (cause) {
    const reason =
      cause instanceof SyntaxError ? `is not valid JSON (${cause.message})` : 'cannot be read';
    throw new StagedoorError('CONFIG_INVALID', `config file ${file} ${reason}`, { cause });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new StagedoorError('CONFIG_INVALID', `config file ${file} must hold a JSON object`);
  }
  const merged = structuredClone(raw) as Record<string, unknown>;
  const overrides = envOverrides(env);
  applyOverrides(merged, overrides);
  return { config: parseConfig(merged, overrides), overrides };
}

/** Picks the config file: `--config FILE`, else STAGEDOOR_CONFIG, else config/default.json (here, or the package's). */
export function resolveConfigPath(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): string {
  const flag = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  if (flag >= 0) {
    const arg = argv[flag]!;
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[flag + 1];
    if (!value) throw new StagedoorError('CONFIG_INVALID', '--config needs a file path');
    return value;
  }
  if (env.STAGEDOOR_CONFIG) return env.STAGEDOOR_CONFIG;
  // In a checkout: ./config/default.json. Installed (`npm i -g`, npx) and run elsewhere: the
  // package's own default, whose relative paths (media, .stagedoor) then land in the current directory.
  return existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : PACKAGED_DEFAULT_CONFIG;
}

const DEFAULT_CONFIG = 'config/default.json';
const PACKAGED_DEFAULT_CONFIG = fileURLToPath(
  new URL('../../config/default.json', import.meta.url),
);
