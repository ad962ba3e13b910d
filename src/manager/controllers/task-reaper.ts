/**
 * The task reaper controller (leader only): deletes old tasks per the cluster's
 * `TaskHistoryRetentionLimit` with the pure `tasksToDelete`, including finished tasks a
 * scale-down or a service removal set to desired state `remove`. It runs when tasks
 * finish or services are deleted, at most every `intervalMs`.
 */
import type { MemoryStore, ObjectEvent } from '../../store/index.ts';
import { isTerminal, type Task } from '../../api/types/task.ts';
import type { Logger } from '../../common/logger.ts';
import { tasksToDelete } from '../orchestrator/task-reaper.ts';
import { StoreController } from './store-controller.ts';
import { monotonicMs } from '../../common/monotonic.ts';

export class TaskReaperController extends StoreController {
  private dirty = false;
  private last = -Infinity;
  /** Holds a pass back until `intervalMs` after the last. */
  private readonly delay = this.onceTimer();
  private readonly intervalMs: number;

  /** `intervalMs`: least time between passes (default 250). */
  constructor(store: MemoryStore, logger: Logger, opts: { intervalMs?: number } = {}) {
    super(store, logger, ['task', 'service', 'cluster']);
    this.intervalMs = opts.intervalMs ?? 250;
  }

  protected markAll(): void {
    this.dirty = true;
  }

  protected onEvent(e: ObjectEvent): void {
    if (reapMatters(e)) this.dirty = true;
  }

  protected async pass(): Promise<void> {
    if (!this.dirty) return;
    const wait = this.last + this.intervalMs - monotonicMs();
    if (wait > 0) {
      this.delay.arm(wait, () => {}); // the pass after it reaps
      return;
    }
    this.dirty = false;
    this.last = monotonicMs();
    try {
      const { value } = await this.store.update((tx) => {
        const cluster = tx.list('cluster')[0];
        const services = new Map(tx.list('service').map((s) => [s.ID, s]));
        const ids = tasksToDelete(tx.list('task'), { limit: cluster?.Spec.Orchestration?.TaskHistoryRetentionLimit, services });
        for (const id of ids) tx.delete('task', id);
        return ids.length;
      });
      if (value) this.logger.debug('task reaper: deleted tasks', { count: value });
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }
}

/**
 * Whether a store change can make a task deletable (pure): a task created (its slot's
 * history grows), ended, or no longer wanted; a service deleted; the retention limit
 * changed. A wanted task's steps towards running make none so (10,000 tasks starting
 * ran the reaper over every task every 250 ms).
 */
export function reapMatters(e: ObjectEvent): boolean {
  if (e.kind === 'task.updated') {
    const t = e.object as Task;
    const old = e.old as Task;
    return old.DesiredState !== t.DesiredState || isTerminal(t.Status.State) !== isTerminal(old.Status.State);
  }
  return e.kind === 'task.created' || e.kind === 'service.deleted' || e.kind === 'cluster.updated';
}
