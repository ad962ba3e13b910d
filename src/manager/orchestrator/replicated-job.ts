/**
 * The replicated-job orchestrator's decision: run `TotalCompletions` tasks to
 * completion, at most `MaxConcurrent` at a time, for the current job iteration
 * (`Service.JobStatus.JobIteration`; a new iteration re-runs the job). Each completion
 * fills one slot (1..TotalCompletions) for good: a completed task is never restarted.
 * A failed task is restarted per the restart policy (default on-failure); a task whose
 * node is lost is replaced.
 */
import type { Node } from '../../api/types/node.ts';
import type { Service } from '../../api/types/service.ts';
import { isTerminal, type Task } from '../../api/types/task.ts';
import { newTask } from './new-task.ts';
import { groupBy, serviceConstraints, viewSlot } from './slots.ts';
import { supervise } from './supervise.ts';
import { withDesiredState } from '../../common/task-state.ts';
import { emptyReconciliation, nodeMap, type ReconcileContext, type Reconciliation } from './types.ts';

/**
 * A job service's `JobStatus` after a create (`current` undefined) or an update of
 * `current`, as SwarmKit's control API sets it: iteration 0 at creation; on every update
 * the iteration becomes the version being replaced (always higher than any before), so the
 * job runs again; `LastExecution` is when that iteration began. Undefined for services
 * that are not jobs.
 */
export function nextJobStatus(spec: Service['Spec'], current: Service | undefined, now: number): Service['JobStatus'] {
  const kind = spec.Mode?.ReplicatedJob ? 'replicated-job' : spec.Mode?.GlobalJob ? 'global-job' : undefined;
  if (!kind) return undefined;
  return { JobIteration: { Index: current ? current.Version.Index : 0 }, LastExecution: new Date(now).toISOString() };
}

/** Stops the unfinished tasks of job iterations other than `iteration`. */
export function stopEarlierIterations(tasks: readonly Task[], iteration: number, out: Reconciliation): void {
  for (const t of tasks) {
    if ((t.JobIteration?.Index ?? 0) === iteration) continue;
    if (!isTerminal(t.Status.State) && t.DesiredState !== 'shutdown' && t.DesiredState !== 'remove') out.update.push(withDesiredState(t, 'shutdown'));
  }
}

/** Progress of a replicated job in its current iteration, for status displays. */
export interface JobProgress {
  completed: number;
  active: number;
  total: number;
}

/** Decides the changes that move a replicated job toward `TotalCompletions`. */
export function reconcileReplicatedJob(
  service: Service,
  tasks: readonly Task[],
  nodes: ReadonlyMap<string, Node> | readonly Node[],
  ctx: ReconcileContext,
): Reconciliation & { progress: JobProgress } {
  const out = emptyReconciliation();
  const mode = service.Spec.Mode?.ReplicatedJob ?? {};
  const maxConcurrent = mode.MaxConcurrent ?? 1;
  const total = mode.TotalCompletions ?? maxConcurrent;
  const iteration = service.JobStatus?.JobIteration.Index ?? 0;
  const nodesById = nodeMap(nodes);
  const constraints = serviceConstraints(service);
  const mine = tasks.filter((t) => t.ServiceID === service.ID);
  stopEarlierIterations(mine, iteration, out);
  const current = mine.filter((t) => (t.JobIteration?.Index ?? 0) === iteration && (t.Slot ?? 0) > 0);
  const bySlot = groupBy(current, (t) => t.Slot!);

  const busy = new Set<number>();
  let completed = 0;
  let active = 0;
  for (const [slot, ts] of [...bySlot].sort((a, b) => a[0] - b[0])) {
    const view = viewSlot(ts);
    if (ts.some((t) => t.Status.State === 'complete')) {
      completed++;
      busy.add(slot);
      for (const t of view.extra) out.update.push(withDesiredState(t, 'shutdown'));
      continue;
    }
    const outcome = supervise(view, {
      service,
      nodes: nodesById,
      constraints,
      ctx,
      out,
      replacement: (desired) => newTask(service, { slot, desired }, ctx),
      job: true,
      replaceOnNodeLoss: true,
      mayRestart: true,
    });
    if (outcome.kind !== 'empty') busy.add(slot);
    if (outcome.kind === 'running') active++;
  }

  const maxCreate = ctx.maxCreate ?? Infinity;
  for (let slot = 1; slot <= total && active < maxConcurrent && out.create.length < maxCreate; slot++) {
    if (busy.has(slot)) continue;
    out.create.push(newTask(service, { slot, desired: 'complete' }, ctx));
    active++;
  }
  return { ...out, progress: { completed, active, total } };
}
