// A real logger (redaction and all) whose JSON lines are kept in memory for a test to read.
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log/logger.js';
import type { Logger } from '../../src/log/logger.js';

export function capturedLogger(level: 'info' | 'debug' = 'info'): {
  log: Logger;
  out: () => string;
} {
  let out = '';
  const log = createLogger({
    level,
    destination: new Writable({
      write: (chunk: Buffer, _encoding, done) => ((out += chunk.toString()), done()),
    }) as never,
  });
  return { log, out: () => out };
}
