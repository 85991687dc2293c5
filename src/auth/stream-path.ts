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
  if (typeof app !== 'string' || typeof name !== 'string' || !isValidName(app) || !isValidName(name)) {
    throw new StagedoorError('STREAM_NAME_INVALID');
  }
  return { app, name };
}

export function formatStreamPath(stream: StreamPath): string {
  return `${stream.app}/${stream.name}`;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[A-Za-z0-9_-]*');
  return new RegExp(`^${body}$`);
}

/**
 * Does a stream pattern name this stream? `cam1` matches that stream name in any app,
 * `live/cam1` only in app `live`; `*` matches within one part: `live/*`, `*`, `live/cam*`.
 */
export function streamMatches(pattern: string, stream: StreamPath): boolean {
  const parts = pattern.split('/');
  if (parts.length === 1) return globToRegExp(parts[0]!).test(stream.name);
  if (parts.length === 2) return globToRegExp(parts[0]!).test(stream.app) && globToRegExp(parts[1]!).test(stream.name);
  return false;
}
