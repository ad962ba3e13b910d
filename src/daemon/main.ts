/**
 * Runs a daemon in the foreground until SIGTERM or SIGINT, then shuts it down
 * cleanly. A second signal during shutdown exits at once.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, parseDaemonConfig, type DaemonFlags } from './config.ts';
import { DEFAULT_CONFIG_FILE, mergeDaemonFlags, parseDaemonJson } from './daemon-json.ts';
import { notifyReady, takeNotifySocket } from './sd-notify.ts';
import { Daemon } from './daemon.ts';
import { createLogger } from '../common/logger.ts';

/**
 * The flags merged with the config file: `configFile` if given (it must exist), else
 * /etc/shoal/daemon.json when there is one.
 */
export async function loadDaemonFlags(flags: DaemonFlags, configFile?: string): Promise<DaemonFlags> {
  const path = configFile ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && configFile === undefined) return flags;
    throw new ConfigError(`config: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return mergeDaemonFlags(parseDaemonJson(text, path), flags, path);
}

export async function runDaemon(flags: DaemonFlags, opts: { configFile?: string } = {}): Promise<void> {
  const config = parseDaemonConfig(await loadDaemonFlags(flags, opts.configFile));
  const logger = createLogger('daemon');
  // Before anything is spawned: runc must not inherit systemd's socket (see sd-notify.ts).
  const notifySocket = takeNotifySocket();
  const daemon = await Daemon.start(config, logger);
  await notifyReady(logger, notifySocket, `api on ${[config.host, ...config.remoteHosts.map((h) => `tcp://${h.host}:${h.port}`)].join(', ')}`);
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
