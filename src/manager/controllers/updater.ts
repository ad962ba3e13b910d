/**
 * The updater controller (leader only): runs the pure `planUpdate` for every dirty
 * service and writes the plan (replacement tasks, old tasks stopped, UpdateStatus, an
 * automatic rollback's spec) in one transaction. A service is dirty when it or one of
 * its tasks changed state, or when a Delay or Monitor window it waits for ends. All
 * progress is in the store; the only memory is when each task was seen running (for
 * the Monitor window), which a new leader rebuilds from CreatedAt.
 *
 * The orchestrators leave out-of-date running tasks alone (see `tasksForOrchestrator`);
 * this controller is the only one that replaces them, `Parallelism` at a time.
 */
import { isTerminal, type Task } from '../../api/types/task.ts';
import type { Service } from '../../api/types/service.ts';
import type { MemoryStore, ObjectEvent } from '../../store/index.ts';
import type { Logger } from '../../common/logger.ts';
import { planUpdate, type UpdateStrategy } from '../orchestrator/updater.ts';
import { isTaskDirty } from '../orchestrator/updater-view.ts';
import { StoreController } from './store-controller.ts';

export interface UpdaterOptions {
  /** Wall clock, ms since the epoch (default Date.now). */
  now?: () => number;
  /** The update policy (default: Docker's rolling update). */
  strategy?: UpdateStrategy;
}

export class UpdaterController extends StoreController {
  private dirty = new Set<string>();
  private all = true;
  private readonly now: () => number;
  private readonly strategy?: UpdateStrategy;
  /** Task ID → when it was seen running (ms). */
  private readonly upSince = new Map<string, number>();
  /** Every service as last seen (for `taskEventMatters`), kept from the service events. */
  private readonly services = new Map<string, Service>();

  constructor(store: MemoryStore, logger: Logger, opts: UpdaterOptions = {}) {
    super(store, logger, ['service', 'task']);
    this.now = opts.now ?? Date.now;
    if (opts.strategy) this.strategy = opts.strategy;
  }

  protected markAll(): void {
    this.all = true;
    this.services.clear();
    for (const s of this.store.view((tx) => tx.list('service'))) this.services.set(s.ID, s);
  }

  protected onEvent(e: ObjectEvent): void {
    if (e.kind.startsWith('service.')) {
      if (e.kind === 'service.deleted') this.services.delete(e.object.ID);
      else this.services.set(e.object.ID, e.object as Service);
      this.dirty.add(e.object.ID);
      return;
    }
    const t = e.object as Task;
    if (e.kind === 'task.deleted') {
      this.upSince.delete(t.ID);
      return;
    }
    const old = 'old' in e ? (e.old as Task) : undefined;
    if (old && old.Status.State === t.Status.State && old.DesiredState === t.DesiredState) return;
    if (t.Status.State === 'running' && old?.Status.State !== 'running') this.upSince.set(t.ID, this.now());
    if (!taskEventMatters(this.services.get(t.ServiceID), old, t)) return;
    this.dirty.add(t.ServiceID);
  }

  protected async pass(): Promise<void> {
    const all = this.all;
    const ids = [...this.dirty];
    this.all = false;
    this.dirty.clear();
    const wakes: { id: string; at: number }[] = [];
    const events: { id: string; name: string; event: string; message?: string }[] = [];
    try {
      await this.store.update((tx) => {
        const serviceIds = all ? tx.list('service').map((s) => s.ID) : ids;
        for (const id of serviceIds) {
          const service = tx.get('service', id);
          if (!service) continue;
          // The transaction's own time: the tasks it creates carry it as CreatedAt, and an
          // update counts a task as its own when CreatedAt ≥ StartedAt. A second clock
          // reading could be a millisecond later and disown the first replacements.
          const plan = planUpdate(service, tx.find('task', { serviceId: id }), {
            now: tx.now,
            newId: () => this.store.newId(),
            upSince: this.upSince,
            ...(this.strategy ? { strategy: this.strategy } : {}),
          });
          for (const t of plan.update) tx.update('task', t);
          for (const t of plan.create) tx.create('task', t);
          if (plan.service) tx.update('service', plan.service);
          if (plan.wakeAt !== undefined) wakes.push({ id, at: plan.wakeAt });
          if (plan.event) events.push({ id, name: service.Spec.Name, event: plan.event, ...(plan.service?.UpdateStatus ? { message: plan.service.UpdateStatus.Message } : {}) });
          if (plan.create.length) this.logger.debug('updater: replacing slots', { 'service.id': id, count: plan.create.length });
        }
      });
    } catch (err) {
      if (all) this.all = true;
      for (const id of ids) this.dirty.add(id);
      throw err;
    }
    for (const e of events) this.logger.info(`updater: update ${e.event}`, { 'service.id': e.id, 'service.name': e.name, message: e.message });
    for (const w of wakes) this.at(w.at - this.now(), () => this.dirty.add(w.id));
  }
}

/**
 * Whether a task's change can give the updater something to do (pure). While the service
 * runs no update, the updater only starts one, and only for a slot that holds an
 * out-of-date task: the steps of up-to-date tasks change nothing there. Starting 10,000
 * tasks made each of their status batches a plan over the whole service. What can matter
 * is kept: an update in progress (or paused), an out-of-date task, a task that ended or
 * whose desired state changed, a service not known yet.
 */
export function taskEventMatters(service: Service | undefined, old: Task | undefined, t: Task): boolean {
  if (!service) return true;
  const state = service.UpdateStatus?.State;
  if (state !== undefined && state !== 'completed' && state !== 'rollback_completed') return true;
  if (old && old.DesiredState !== t.DesiredState) return true;
  if (isTerminal(t.Status.State)) return true;
  return isTaskDirty(service, t) || (!!old && isTaskDirty(service, old));
}
