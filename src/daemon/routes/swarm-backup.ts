/**
 * Backup and restore of a swarm (Shoal extensions to Docker's API; swarm-backup.ts):
 *   GET  /shoal/swarm/backup    on a manager: the backup file (JSON), taken without stopping
 *   POST /shoal/swarm/restore   on a node in no swarm: `{ Backup, UnlockKey?, ListenAddr?,
 *                               AdvertiseAddr? }` → a single-manager cluster from the backup;
 *                               answers `{ NodeID, ClusterID, Services }`.
 */
import type { Router } from '../../common/router.ts';
import { InvalidArgumentError, UnavailableError } from '../../api/errors.ts';
import type { SwarmNode } from '../../swarm/swarm-node.ts';
import { readBackupFile, type BackupContents } from '../../swarm/swarm-backup.ts';
import { NO_SWARM_MANAGER } from './swarm.ts';

/** What the routes need of the daemon. */
export interface SwarmBackupHost {
  swarm(): SwarmNode | undefined;
  /** Makes this node the only manager of the backup's cluster (refused when in a swarm). */
  restore(backup: BackupContents, req: { ListenAddr?: string; AdvertiseAddr?: string }): Promise<SwarmNode>;
}

/** Restore bodies carry a whole cluster: larger than the router's JSON default. */
const MAX_RESTORE_BODY = 64 * 1024 * 1024;

interface RestoreRequest {
  Backup: string;
  UnlockKey?: string;
  ListenAddr?: string;
  AdvertiseAddr?: string;
}

/** Adds the backup and restore routes. */
export function addSwarmBackupRoutes(router: Router, host: SwarmBackupHost): void {
  router.get('/shoal/swarm/backup', async () => {
    const swarm = host.swarm();
    if (!swarm) throw new UnavailableError(NO_SWARM_MANAGER);
    return swarm.backup();
  });

  router.post('/shoal/swarm/restore', async (ctx) => {
    const raw = await ctx.rawBody(MAX_RESTORE_BODY);
    let req: RestoreRequest;
    try {
      req = JSON.parse(raw.toString('utf8')) as RestoreRequest;
    } catch (cause) {
      throw new InvalidArgumentError('swarm restore: the request body is not JSON', { cause });
    }
    const known = new Set(['Backup', 'UnlockKey', 'ListenAddr', 'AdvertiseAddr']);
    for (const k of Object.keys(req ?? {})) if (!known.has(k)) throw new InvalidArgumentError(`swarm restore: unknown field ${k}`);
    if (typeof req?.Backup !== 'string' || !req.Backup) throw new InvalidArgumentError('swarm restore: Backup (the backup file\'s text) is required');
    const backup = readBackupFile(req.Backup, req.UnlockKey || undefined);
    const node = await host.restore(backup, { ListenAddr: req.ListenAddr, AdvertiseAddr: req.AdvertiseAddr });
    return { NodeID: node.nodeId, ClusterID: node.clusterId, Services: backup.services.length };
  });
}
