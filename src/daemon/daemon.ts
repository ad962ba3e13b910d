/**
 * The daemon's composition root: it locks the data root, builds the components and
 * the control API, and tears them down in reverse order on stop. Components are
 * given their dependencies here and nowhere else.
 */
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DaemonConfig } from './config.ts';
import { lockDataRoot, type DataRootLock } from './data-root-lock.ts';
import type { Logger } from './logger.ts';
import { Router } from './http/router.ts';
import { listenUnix, closeServer } from './http/unix-server.ts';
import { addSystemRoutes } from './routes/system.ts';
import { addImageRoutes } from './routes/images.ts';
import { ImageService } from '../images/image-service.ts';
import type { SwarmInfo } from '../api/types/system.ts';

/** The swarm part of `/info` before this node is part of a swarm. */
const INACTIVE_SWARM: SwarmInfo = {
  NodeID: '',
  NodeAddr: '',
  LocalNodeState: 'inactive',
  ControlAvailable: false,
  Error: '',
  RemoteManagers: null,
};

export class Daemon {
  private stopping?: Promise<void>;

  private constructor(
    readonly config: DaemonConfig,
    private readonly logger: Logger,
    private readonly lock: DataRootLock,
    private readonly server: http.Server,
  ) {}

  /** Starts a daemon; rejects (having undone everything) if any part fails to start. */
  static async start(config: DaemonConfig, logger: Logger): Promise<Daemon> {
    const lock = await lockDataRoot(config.dataRoot);
    try {
      const engineId = await loadEngineId(config.dataRoot);
      const router = new Router();
      const images = new ImageService({ root: join(config.dataRoot, 'images'), insecureRegistries: config.insecureRegistries });
      addImageRoutes(router, { images });
      addSystemRoutes(router, {
        config,
        engineId,
        swarmInfo: () => INACTIVE_SWARM,
        containerCounts: () => ({ running: 0, paused: 0, stopped: 0 }),
        imageCount: () => images.list().length,
      });
      if (config.hostAddress.kind !== 'unix') throw new Error('only unix:// hosts are supported for the control API for now');
      const server = await listenUnix(router.listener, config.hostAddress.socketPath);
      logger.info('daemon started', { 'api.host': config.host, 'data.root': config.dataRoot, 'node.hostname': config.hostname, pid: process.pid });
      return new Daemon(config, logger, lock, server);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** Stops everything; safe to call more than once (later calls wait for the first). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info('daemon stopping');
      const socketPath = this.config.hostAddress.kind === 'unix' ? this.config.hostAddress.socketPath : undefined;
      await closeServer(this.server, socketPath);
      await this.lock.release();
      this.logger.info('daemon stopped');
    })();
    return this.stopping;
  }
}

/** The engine's ID, made once per data root, in Docker's format (12 groups of 4 base32 chars). */
async function loadEngineId(dataRoot: string): Promise<string> {
  const path = join(dataRoot, 'engine-id');
  try {
    const id = (await readFile(path, 'utf8')).trim();
    if (id) return id;
  } catch {
    // first start: make one below
  }
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(48);
  const chars = Array.from(bytes, (b) => alphabet[b & 31]).join('');
  const id = chars.match(/.{4}/g)!.join(':');
  await mkdir(dataRoot, { recursive: true });
  await writeFile(path, id + '\n', { mode: 0o600 });
  return id;
}
