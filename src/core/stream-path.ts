import { StagedoorError } from '../errors.js';

/** A stream is addressed as `<app>/<name>`, e.g. `live/cam1`. */
export interface StreamPath {
  app: string;
  name: string;
}

const NAME = /^[A-Za-z0-9_-]{1,128}$/;

export function isValidName(value: string): boolean {
  return NAME.test(value);
}

/** Checks both parts of a stream path; STREAM_NAME_INVALID otherwise. */
export function checkStreamPath(app: unknown, name: unknown): StreamPath {
  if (
    typeof app !== 'string' ||
    typeof name !== 'string' ||
    !isValidName(app) ||
    !isValidName(name)
  ) {
    throw new StagedoorError('STREAM_NAME_INVALID');
  }
  return { app, name };
}

export function formatStreamPath(stream: StreamPath): string {
  return `${stream.app}/${stream.name}`;
}

const compiled = new Map<string, RegExp>();
/** Globs come from config, stream rules and token scopes: compiled once each (a bounded memo). */
const MAX_COMPILED = 4096;

function globToRegExp(glob: string): RegExp {
  let regExp = compiled.get(glob);
  if (regExp) return regExp;
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[A-Za-z0-9_-]*');
  regExp = new RegExp(`^${body}$`);
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(glob, regExp);
  return regExp;
}

/**
 * Does a stream pattern name this stream? `cam1` matches that stream name in any app,
 * `live/cam1` only in app `live`; `*` matches within one part: `live/*`, `*`, `live/cam*`.
 */
export function streamMatches(pattern: string, stream: StreamPath): boolean {
  const slash = pattern.indexOf('/');
  if (slash < 0) return globToRegExp(pattern).test(stream.name);
  if (pattern.indexOf('/', slash + 1) >= 0) return false;
  return (
    globToRegExp(pattern.slice(0, slash)).test(stream.app) &&
    globToRegExp(pattern.slice(slash + 1)).test(stream.name)
  );
}
