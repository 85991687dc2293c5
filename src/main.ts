#!/usr/bin/env node
// Composition root: config → logger → components → listen; signals; shutdown.
import { loadConfig, resolveConfigPath } from './config/load-config.js';
import { createLogger, logDestination } from './log/logger.js';
import { createStagedoor } from './app.js';
import { startupBanner } from './startup-banner.js';
import { isStagedoorError } from './errors.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  const configPath = resolveConfigPath(process.argv.slice(2));
  const config = loadConfig({ file: configPath });
  const log = createLogger({
    level: config.log.level,
    destination: logDestination(config.log.destination, config.log.pretty),
  });
  const stagedoor = await createStagedoor(config, log);

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn({ event: 'forced_exit', signal }, 'second signal, exiting now');
      process.exit(1);
    }
    log.info({ event: 'shutdown', signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error(
        { event: 'shutdown_timeout', timeoutMs: SHUTDOWN_TIMEOUT_MS },
        'shutdown took too long, exiting',
      );
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    force.unref();
    stagedoor.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception');
    process.exit(70);
  });
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection');
  });

  const ports = await stagedoor.start();
  log.info({ event: 'config', file: configPath }, 'configuration loaded');
  if (config.banner.enabled) {
    process.stderr.write(
      await startupBanner(config, stagedoor.keys, {
        rtmp: ports.rtmp.port,
        http: ports.http.port,
        admin: ports.admin?.port,
        rtmps: ports.rtmps?.port,
      }),
    );
  }
}

main().catch((error: unknown) => {
  const message = isStagedoorError(error)
    ? `${error.code}: ${error.message}`
    : String((error as Error)?.stack ?? error);
  process.stderr.write(`stagedoor: cannot start: ${message}\n`);
  process.exit(isStagedoorError(error) && error.code === 'CONFIG_INVALID' ? 78 : 1);
});
