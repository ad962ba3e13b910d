/**
 * Task history retention (SwarmKit's task reaper), as a pure decision: which tasks to
 * delete from the store. Per slot (replicated) or per node (global), at most `limit`
 * tasks are kept, counting the current one; only old tasks (finished, and no longer
 * wanted) are ever deleted, oldest first. Tasks removed by a scale-down (desired state
 * `remove`) go as soon as they have finished, as do finished tasks of deleted services.
 */
import type { Service } from '../../api/types/service.ts';
import { TASK_STATES, isAttachmentTask, isTerminal, type Task } from '../../api/types/task.ts';
import { DEFAULTS } from '../../api/spec/service-spec.ts';
import { ms } from './restart-policy.ts';
import { wantsToRun } from '../../common/task-state.ts';

export interface RetentionOptions {
  /** Tasks kept per slot or node, counting the current one (Docker's TaskHistoryRetentionLimit; default 5; negative keeps all). */
  limit?: number;
  /**
   * The services that exist. When given, finished tasks of other services are deleted, and
   * a service whose restart policy has `MaxAttempts` keeps `MaxAttempts + 1` tasks per slot
   * so the restart count (read from the kept tasks) stays right.
   */
  services?: ReadonlyMap<string, Service>;
}

const ASSIGNED = TASK_STATES.indexOf('assigned');

/** Finished, or never sent to a node: safe to delete once no longer wanted. */
function done(t: Task): boolean {
  return isTerminal(t.Status.State) || TASK_STATES.indexOf(t.Status.State) < ASSIGNED;
}

/** The IDs of the tasks to delete, in no particular order. */
export function tasksToDelete(tasks: readonly Task[], opts: RetentionOptions = {}): string[] {
  const limit = opts.limit ?? DEFAULTS.taskHistoryRetention;
  const out: string[] = [];
  const groups = new Map<string, Task[]>();
  for (const t of tasks) {
    // A network attachment task (no service) goes once it ended or is no longer wanted
    // before it reached a node; while its container is attached it stays.
    if (isAttachmentTask(t)) {
      if (isTerminal(t.Status.State) || (!wantsToRun(t.DesiredState) && done(t))) out.push(t.ID);
      continue;
    }
    if (opts.services && !opts.services.has(t.ServiceID)) {
      if (done(t)) out.push(t.ID);
      continue;
    }
    if (t.DesiredState === 'remove' && done(t)) {
      out.push(t.ID);
      continue;
    }
    const key = `${t.ServiceID}\u0000${t.Slot ? `s${t.Slot}` : `n${t.NodeID ?? ''}`}`;
    const g = groups.get(key);
    if (g) g.push(t);
    else groups.set(key, [t]);
  }
  if (limit < 0) return out;
  for (const group of groups.values()) {
    const svc = opts.services?.get(group[0].ServiceID);
    const attempts = svc?.Spec.TaskTemplate.RestartPolicy?.MaxAttempts ?? 0;
    const keep = Math.max(limit, attempts > 0 ? attempts + 1 : 0);
    if (group.length <= keep) continue;
    const old = group.filter((t) => !wantsToRun(t.DesiredState) && isTerminal(t.Status.State));
    old.sort((a, b) => ms(a.CreatedAt) - ms(b.CreatedAt) || (a.ID < b.ID ? -1 : 1));
    const excess = Math.min(group.length - keep, old.length);
    for (let i = 0; i < excess; i++) out.push(old[i].ID);
  }
  return out;
}
