/**
 * The orchestrator controller (leader only): keeps every service's tasks in line with
 * its spec by running the pure `reconcileService` for each dirty service and writing
 * the result in one transaction. A service is dirty when it or one of its tasks
 * changed; every service is when a node changed (down, drained, labels). Tasks of a
 * deleted service are set to desired state `remove`, so their nodes stop them.
 */
import type { Service } from '../../api/types/service.ts';
import { taskStateRank, type Task } from '../../api/types/task.ts';
import type { MemoryStore, ObjectEvent, WriteTx } from '../../store/index.ts';
import type { Logger } from '../../common/logger.ts';
import { reconcileService, withDesiredState } from '../orchestrator/index.ts';
import { tasksForOrchestrator } from '../orchestrator/updater.ts';
import { MOVED_FROM_LABEL, hideMovedTasks } from '../orchestrator/rebalance.ts';
import { boundReconciliation } from '../orchestrator/bounded.ts';
import { slotKey } from '../orchestrator/updater-view.ts';
import { StoreController } from './store-controller.ts';

/**
 * Tasks one pass creates at most, across services: a service of 10,000 replicas is
 * written in transactions of this many tasks (each pass marks it dirty again), so one
 * huge spec never makes one huge Raft entry or holds the leader's memory. Replacements
 * of tasks on lost nodes count too (`boundReconciliation`).
 */
export const MAX_CREATES_PER_PASS = 500;

export interface OrchestratorOptions {
  /** Wall clock, ms since the epoch (default Date.now). */
  now?: () => number;
}

export class OrchestratorController extends StoreController {
  private dirty = new Set<string>();
  private all = true;
  private readonly now: () => number;

  constructor(store: MemoryStore, logger: Logger, opts: OrchestratorOptions = {}) {
    super(store, logger, ['service', 'task', 'node']);
    this.now = opts.now ?? Date.now;
  }

  protected markAll(): void {
    this.all = true;
  }

  protected override onLater(ids: readonly string[]): void {
    for (const id of ids) this.dirty.add(id);
  }

  protected onEvent(e: ObjectEvent): void {
    if (e.kind.startsWith('node.')) this.all = true;
    else if (e.kind.startsWith('service.')) this.dirty.add(e.object.ID);
    else {
      const t = e.object as Task;
      const old = 'old' in e ? (e.old as Task) : undefined;
      if (old && !taskUpdateMatters(old, t)) return;
      // Network attachment tasks (standalone containers' endpoints) have no service: never orchestrated.
      if (!t.ServiceID) return;
      // Nothing the orchestrator decides waits on a task being up (restarts follow ends,
      // moves of the rebalancer are not deferred): arrivals are reconciled together, later.
      if (old && onlyReachedRunning(old, t)) {
        this.markLater(t.ServiceID);
        return;
      }
      this.dirty.add(t.ServiceID);
    }
  }

  protected async pass(): Promise<void> {
    // Every commit of a watched kind runs a pass: most (status batches) leave nothing dirty.
    if (!this.all && this.dirty.size === 0) return;
    const all = this.all;
    const ids = [...this.dirty];
    this.all = false;
    this.dirty.clear();
    const wakes: { id: string; at: number }[] = [];
    const more: string[] = [];
    try {
      const { value: changes } = await this.store.update((tx) => {
        const serviceIds = all ? allServiceIds(tx) : ids;
        const nodes = tx.list('node');
        let n = 0;
        let budget = MAX_CREATES_PER_PASS;
        for (const id of serviceIds) {
          if (budget <= 0) {
            more.push(id);
            continue;
          }
          const tasks = tx.find('task', { serviceId: id });
          const service = tx.get('service', id);
          if (!service) {
            n += removeOrphans(tx, tasks);
            continue;
          }
          // Out-of-date tasks whose replacement is on its way are the updater's (SwarmKit's split).
          // A task the rebalancer is moving start-first is its business until the replacement runs or fails.
          const full = reconcileService(service, tasksForOrchestrator(service, hideMovedTasks(tasks)), nodes, { now: this.now(), newId: () => this.store.newId(), maxCreate: budget });
          // Replacements (a wave of lost nodes) count against the budget too, a slot at a time.
          const { r, more: cut } = boundReconciliation(full, budget, (t) => slotKey(service, t));
          budget -= r.create.length;
          if (budget <= 0 || cut) more.push(id); // it may have more to create: the next pass does
          for (const t of r.create) tx.create('task', t);
          for (const t of r.update) tx.update('task', t);
          for (const tid of r.delete) tx.delete('task', tid);
          n += r.create.length + r.update.length + r.delete.length;
          if (r.wakeAt !== undefined) wakes.push({ id, at: r.wakeAt });
          if (r.create.length || r.update.length) logChanges(this.logger, service, r.create.length, r.update.length);
        }
        return n;
      });
      if (changes) this.logger.debug('orchestrator: wrote changes', { count: changes });
    } catch (err) {
      if (all) this.all = true;
      for (const id of ids) this.dirty.add(id);
      throw err;
    }
    for (const w of wakes) this.at(w.at - this.now(), () => this.dirty.add(w.id));
    if (more.length) {
      for (const id of more) this.dirty.add(id);
      this.kick();
    }
  }
}

/**
 * Whether a task's update can change what the orchestrator decides for its service (pure).
 * A status report that leaves the task wanted where it was changes nothing; nor do the
 * steps of a wanted task on its way to running (allocated, pending, assigned, preparing…):
 * starting 10,000 tasks made each of those batches a full reconciliation of the whole
 * service, most of the leader's time. A node going away arrives as a node event, which
 * marks every service; arriving at running, or past it (failed, shut down), matters.
 */
export function taskUpdateMatters(old: Task, t: Task): boolean {
  if (old.DesiredState !== t.DesiredState) return true;
  if (old.Status.State === t.Status.State && old.NodeID === t.NodeID) return false;
  return taskStateRank(t.Status.State) >= RUNNING_RANK;
}

const RUNNING_RANK = taskStateRank('running');

/**
 * Whether the update only brought a task up (pure): it reached running on the same node,
 * wanted as before, and is not a rebalancer's replacement (whose arrival lets the
 * orchestrator see the task it replaces again, see `hideMovedTasks`).
 */
export function onlyReachedRunning(old: Task, t: Task): boolean {
  return t.Status.State === 'running' && old.Status.State !== 'running' && old.DesiredState === t.DesiredState
    && old.NodeID === t.NodeID && !t.Labels?.[MOVED_FROM_LABEL];
}

/** Every service, and every service ID tasks still name (deleted services with tasks left). */
function allServiceIds(tx: WriteTx): string[] {
  const ids = new Set(tx.list('service').map((s) => s.ID));
  for (const t of tx.list('task')) if (t.ServiceID) ids.add(t.ServiceID);
  return [...ids];
}

function removeOrphans(tx: WriteTx, tasks: readonly Task[]): number {
  let n = 0;
  for (const t of tasks) {
    if (t.DesiredState === 'remove') continue;
    tx.update('task', withDesiredState(t, 'remove'));
    n++;
  }
  return n;
}

function logChanges(logger: Logger, service: Service, created: number, updated: number): void {
  logger.info('orchestrator: reconciled service', { 'service.id': service.ID, 'service.name': service.Spec.Name, created, updated });
}
