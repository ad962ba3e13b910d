/**
 * Orchestrators: pure reconcile functions, one per service mode, plus the restart policy
 * and task history retention. See README.md.
 */
import type { Node } from '../../api/types/node.ts';
import type { Service } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { modeKind } from '../../api/spec/service-spec.ts';
import { reconcileGlobal, reconcileGlobalJob } from './global.ts';
import { reconcileReplicated } from './replicated.ts';
import { reconcileReplicatedJob } from './replicated-job.ts';
import type { ReconcileContext, Reconciliation } from './types.ts';

export { reconcileReplicated, slotsToRemove } from './replicated.ts';
export { reconcileGlobal, reconcileGlobalJob } from './global.ts';
export { reconcileReplicatedJob, type JobProgress } from './replicated-job.ts';
export { restartDecision, effectivePolicy, restartHistory, type RestartDecision, type RestartInput } from './restart-policy.ts';
export { tasksToDelete, type RetentionOptions } from './task-reaper.ts';
export { newTask } from './new-task.ts';
export { taskName } from '../../common/task-name.ts';
export { assertForward, assertDesiredForward, withState, withDesiredState, wantsToRun, TaskStateError } from '../../common/task-state.ts';
export type { ReconcileContext, Reconciliation } from './types.ts';

/** Runs the reconcile function of the service's mode. */
export function reconcileService(
  service: Service,
  tasks: readonly Task[],
  nodes: ReadonlyMap<string, Node> | readonly Node[],
  ctx: ReconcileContext,
): Reconciliation {
  switch (modeKind(service.Spec.Mode)) {
    case 'global':
      return reconcileGlobal(service, tasks, nodes, ctx);
    case 'replicated-job':
      return reconcileReplicatedJob(service, tasks, nodes, ctx);
    case 'global-job':
      return reconcileGlobalJob(service, tasks, nodes, ctx);
    default:
      return reconcileReplicated(service, tasks, nodes, ctx);
  }
}
