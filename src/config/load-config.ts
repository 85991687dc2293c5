import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { StagedoorError } from '../errors.js';
import { configSchema, type Config } from './schema.js';

/** Environment variables that override single config keys after the file is read. */
const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: string[]; parse: (v: string) => unknown }> =
  [
    { env: 'STAGEDOOR_RTMP_HOST', path: ['rtmp', 'host'], parse: String },
    { env: 'STAGEDOOR_RTMP_PORT', path: ['rtmp', 'port'], parse: Number },
    { env: 'STAGEDOOR_HTTP_HOST', path: ['http', 'host'], parse: String },
    { env: 'STAGEDOOR_HTTP_PORT', path: ['http', 'port'], parse: Number },
    { env: 'STAGEDOOR_ADMIN_HOST', path: ['admin', 'host'], parse: String },
    { env: 'STAGEDOOR_ADMIN_PORT', path: ['admin', 'port'], parse: Number },
    { env: 'STAGEDOOR_MEDIA_DIR', path: ['mediaDir'], parse: String },
    { env: 'STAGEDOOR_LOG_LEVEL', path: ['log', 'level'], parse: String },
  ];

/** Validates a config object: defaults filled in, unknown keys refused, errors name the key. */
export function parseConfig(input: unknown): Config {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map(describeIssue);
  throw new StagedoorError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, {
    cause: result.error,
  });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `unknown key "${where ? `${where}.${k}` : k}"`).join('; ');
  }
  return `"${where || '(root)'}": ${issue.message}`;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}

export interface LoadConfigOptions {
  /** Path of the JSON config file. */
  file: string;
  env?: NodeJS.ProcessEnv;
}

/** Reads defaults → file → environment, validates once. */
export function loadConfig({ file, env = process.env }: LoadConfigOptions): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    const reason =
      cause instanceof SyntaxError ? `is not valid JSON (${cause.message})` : 'cannot be read';
    throw new StagedoorError('CONFIG_INVALID', `config file ${file} ${reason}`, { cause });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new StagedoorError('CONFIG_INVALID', `config file ${file} must hold a JSON object`);
  }
  const merged = structuredClone(raw) as Record<string, unknown>;
  for (const { env: name, path, parse } of ENV_OVERRIDES) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(merged, path, parse(value));
  }
  return parseConfig(merged);
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** Picks the config file: `--config FILE`, else STAGEDOOR_CONFIG, else config/default.json. */
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
  return env.STAGEDOOR_CONFIG || 'config/default.json';
}
