/**
 * The scheduler controller (leader only): places pending tasks (state `pending`, still
 * wanted; tasks in `new` wait for the allocator, which moves them to `pending`) with the
 * pure `schedule`, writing `NodeID` and state `assigned`, or leaving them `pending` with
 * Docker's explanation in `Status.Err`. It runs when tasks become pending, and while
 * some are, whenever a node or a task changes (a node came up, a task finished and freed
 * its reservation).
 */
import type { Task } from '../../api/types/task.ts';
import type { MemoryStore, ObjectEvent } from '../../store/index.ts';
import type { Logger } from '../../common/logger.ts';
import { schedule } from '../scheduler/scheduler.ts';
import { wantsToRun, withState } from '../../common/task-state.ts';
import { StoreController } from './store-controller.ts';

function isPending(t: Task): boolean {
  return t.Status.State === 'pending' && wantsToRun(t.DesiredState);
}

export class SchedulerController extends StoreController {
  private readonly pending = new Set<string>();
  private dirty = false;
  private readonly now: () => number;

  constructor(store: MemoryStore, logger: Logger, opts: { now?: () => number } = {}) {
    super(store, logger, ['task', 'node']);
    this.now = opts.now ?? Date.now;
  }

  protected markAll(): void {
    this.pending.clear();
    for (const t of this.store.view((tx) => tx.list('task'))) if (isPending(t)) this.pending.add(t.ID);
    this.dirty = true;
  }

  protected onEvent(e: ObjectEvent): void {
    if (e.kind.startsWith('task.')) {
      const t = e.object as Task;
      if (e.kind !== 'task.deleted' && isPending(t)) {
        if (!this.pending.has(t.ID)) this.dirty = true;
        this.pending.add(t.ID);
        return;
      }
      this.pending.delete(t.ID);
    }
    if (this.pending.size > 0) this.dirty = true;
  }

  protected async pass(): Promise<void> {
    if (!this.dirty || this.pending.size === 0) return;
    this.dirty = false;
    const now = this.now();
    try {
      const { value } = await this.store.update((tx) => {
        const all = tx.list('task');
        const pending = all.filter((t) => this.pending.has(t.ID) && isPending(t));
        if (pending.length === 0) return { placed: 0, unplaced: 0 };
        const byNode = new Map<string, Task[]>();
        for (const t of all) {
          if (!t.NodeID || isPending(t)) continue;
          const list = byNode.get(t.NodeID);
          if (list) list.push(t);
          else byNode.set(t.NodeID, [t]);
        }
        const { assignments, unplaced } = schedule(pending, tx.list('node'), byNode, { now });
        const byId = new Map(pending.map((t) => [t.ID, t]));
        for (const [id, nodeId] of assignments) {
          const t = byId.get(id)!;
          const next = withState({ ...t, NodeID: nodeId }, 'assigned', { now, message: 'scheduler assigned task to node' });
          delete next.Status.Err;
          tx.update('task', next);
        }
        for (const [id, why] of unplaced) {
          const t = byId.get(id)!;
          if (t.Status.State === 'pending' && t.Status.Err === why) continue;
          tx.update('task', withState(t, 'pending', { now, message: 'pending task scheduling', err: why }));
        }
        return { placed: assignments.size, unplaced: unplaced.size };
      });
      if (value.placed || value.unplaced) this.logger.info('scheduler: placed tasks', value);
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }
}
