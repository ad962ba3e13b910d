/**
 * The leader-only controllers of a manager (DESIGN plane 2): orchestrator, updater,
 * allocator, scheduler, task reaper and root CA rotation. They run while this manager is the Raft leader and stop when it is
 * not; none talks to another, the store is the bus.
 *
 *   const leaders = new LeaderControllers(manager, logger); // follows role changes
 *   leaders.close();                                         // on manager stop
 */
import { StateRole, type RaftNode } from 'raft-ts';
import type { MemoryStore } from '../../store/index.ts';
import type { Logger } from '../../common/logger.ts';
import { OrchestratorController } from './orchestrator.ts';
import { AllocatorController } from './allocator.ts';
import { SchedulerController } from './scheduler.ts';
import { TaskReaperController } from './task-reaper.ts';
import { UpdaterController } from './updater.ts';
import { PayloadGcController } from './payload-gc.ts';
import { CARotationController } from './ca-rotation.ts';
import { RebalancerController } from './rebalancer.ts';
import { SchemaController } from './schema.ts';
import { NetworkKeyController } from '../netkeys/controller.ts';
import { STORE_SCHEMA } from '../../common/release.ts';
import type { StoreController } from './store-controller.ts';

export { OrchestratorController } from './orchestrator.ts';
export { AllocatorController } from './allocator.ts';
export { SchedulerController } from './scheduler.ts';
export { TaskReaperController } from './task-reaper.ts';
export { UpdaterController } from './updater.ts';
export { CARotationController } from './ca-rotation.ts';

/** What the controllers need of a manager. */
export interface LeaderHost {
  store: MemoryStore;
  raft: Pick<RaftNode, 'on'>;
  readonly isLeader: boolean;
  /**
   * Resolves once this manager's store holds every committed entry (a read barrier).
   * A new leader waits for it before its first pass, so it never acts on a stale view
   * (tasks created for slots it has not seen filled yet). Optional for tests.
   */
  barrier?(): Promise<void>;
  /** The newest store schema this manager's release runs (default `STORE_SCHEMA`): the most it migrates to. */
  storeSchema?: number;
}

export class LeaderControllers {
  private readonly controllers: StoreController[];
  private readonly off: () => void;
  private running = false;
  private leading = false;
  private closed = false;

  constructor(private readonly host: LeaderHost, private readonly logger: Logger) {
    this.controllers = [
      new OrchestratorController(host.store, logger.child('orchestrator')),
      new UpdaterController(host.store, logger.child('updater')),
      new AllocatorController(host.store, logger.child('allocator')),
      new SchedulerController(host.store, logger.child('scheduler')),
      new TaskReaperController(host.store, logger.child('task-reaper')),
      new PayloadGcController(host.store, logger.child('payload-gc')),
      new CARotationController(host.store, logger.child('ca-rotation')),
      new RebalancerController(host.store, logger.child('rebalancer')),
      new SchemaController(host.store, logger.child('schema'), host.storeSchema ?? STORE_SCHEMA),
      // Encrypted overlays' key; SHOAL_NETWORK_KEY_ROTATE_MS shortens Docker's 12 h (tests).
      new NetworkKeyController(host.store, logger.child('netkeys'), { rotateMs: Number(process.env.SHOAL_NETWORK_KEY_ROTATE_MS) || undefined }),
    ];
    this.off = host.raft.on((e) => {
      if (e.kind === 'role') void this.follow(e.role === StateRole.Leader);
    });
    void this.follow(host.isLeader);
  }

  private async follow(leader: boolean): Promise<void> {
    this.leading = leader;
    if (leader && !this.running && this.host.barrier) {
      try {
        await this.host.barrier();
      } catch (err) {
        this.logger.warn('leader controllers: read barrier failed; starting anyway', { error: err });
      }
      // Leadership may have moved on while waiting.
      if (!this.leading || this.closed) return;
    }
    this.apply(leader);
  }

  private apply(leader: boolean): void {
    if (leader === this.running) return;
    this.running = leader;
    for (const c of this.controllers) {
      if (leader) c.start();
      else c.stop();
    }
    this.logger.info(leader ? 'leader controllers started' : 'leader controllers stopped');
  }

  close(): void {
    this.closed = true;
    this.leading = false;
    this.off();
    this.apply(false);
  }
}
