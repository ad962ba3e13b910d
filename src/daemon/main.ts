/**
 * Runs a daemon in the foreground until SIGTERM or SIGINT, then shuts it down
 * cleanly. A second signal during shutdown exits at once.
 */
import { parseDaemonConfig, type DaemonFlags } from './config.ts';
import { Daemon } from './daemon.ts';
import { createLogger } from '../common/logger.ts';

export async function runDaemon(flags: DaemonFlags): Promise<void> {
  const config = parseDaemonConfig(flags);
  const logger = createLogger('daemon');
  const daemon = await Daemon.start(config, logger);
  await new Promise<void>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        logger.warn('second signal: exiting now', { signal });
        process.exit(1);
      }
      signalled = true;
      logger.info('signal received, shutting down', { signal });
      daemon.stop().then(resolve, (err) => {
        logger.error('shutdown failed', { error: err });
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
