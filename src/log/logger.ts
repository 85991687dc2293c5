import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';
import { redactText, redactValue } from './redact.js';
import pinoPretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where JSON lines go; stdout when omitted. */
  destination?: DestinationStream;
}

/** The destination for `log.destination` (stdout or a file, appended) and `log.pretty`. */
export function logDestination(target: string, pretty: boolean | 'auto'): DestinationStream {
  const toStdout = target === 'stdout';
  if (pretty === true || (pretty === 'auto' && toStdout && process.stdout.isTTY)) {
    return pinoPretty({
      colorize: toStdout && process.stdout.isTTY,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
      ...(toStdout ? {} : { destination: target, append: true, mkdir: true }),
    });
  }
  return pino.destination(
    toStdout ? { dest: 1, sync: false } : { dest: target, append: true, mkdir: true, sync: false },
  );
}

/** JSON-lines logger whose every line passes through the redactor. */
export function createLogger({ level, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service: 'stagedoor' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        log: (object) => redactValue(object) as Record<string, unknown>,
      },
      serializers: {
        err: (err: unknown) => {
          const serialized = pino.stdSerializers.err(err as Error);
          return {
            ...serialized,
            message: redactText(serialized.message),
            stack: serialized.stack ? redactText(serialized.stack) : undefined,
          };
        },
      },
      hooks: {
        // Messages are fixed strings by convention; this guards against one that is not.
        logMethod(args, method) {
          const redacted = args.map((a) =>
            typeof a === 'string' ? redactText(a) : a,
          ) as Parameters<typeof method>;
          method.apply(this, redacted);
        },
      },
    },
    destination,
  );
}
