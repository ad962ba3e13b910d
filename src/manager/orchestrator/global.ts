/**
 * The global orchestrator's decision: one task per node that is ready, active and
 * matches the constraints. A node that joins (or becomes active, or starts matching)
 * gets a task; a node that is drained, down, removed or stops matching has its task
 * shut down (nothing replaces it elsewhere). A paused node keeps its task but gets no
 * new one. A finished task is restarted on its node per the restart policy.
 */
import type { Node } from '../../api/types/node.ts';
import type { Service } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { newTask } from './new-task.ts';
import { acceptsNewTasks, groupBy, serviceConstraints, viewSlot } from './slots.ts';
import { supervise } from './supervise.ts';
import { stopEarlierIterations } from './replicated-job.ts';
import { withDesiredState } from '../../common/task-state.ts';
import { emptyReconciliation, nodeMap, type ReconcileContext, type Reconciliation } from './types.ts';

export interface GlobalOptions {
  /** Jobs (global-job): tasks run to completion, a completed node is done. Set by `reconcileGlobalJob`. */
  job?: boolean;
}

/**
 * Decides the changes that keep one task of a global service on every eligible node.
 * `tasks` are the service's tasks (others, and tasks without a node, are ignored).
 */
export function reconcileGlobal(
  service: Service,
  tasks: readonly Task[],
  nodes: ReadonlyMap<string, Node> | readonly Node[],
  ctx: ReconcileContext & GlobalOptions,
): Reconciliation {
  const out = emptyReconciliation();
  const job = ctx.job ?? false;
  const nodesById = nodeMap(nodes);
  const constraints = serviceConstraints(service);
  const iteration = service.JobStatus?.JobIteration.Index;
  const mine = tasks.filter((t) => t.ServiceID === service.ID && t.NodeID);
  const current = job ? mine.filter((t) => (t.JobIteration?.Index ?? 0) === (iteration ?? 0)) : mine;
  if (job) {
    // Tasks of an earlier job run that have not finished are stopped.
    stopEarlierIterations(mine, iteration ?? 0, out);
  }
  const byNode = groupBy(current, (t) => t.NodeID!);
  const nodeIds = new Set<string>([...byNode.keys(), ...nodesById.keys()]);

  for (const nodeId of [...nodeIds].sort()) {
    const node = nodesById.get(nodeId);
    const ts = byNode.get(nodeId) ?? [];
    const view = viewSlot(ts);
    if (job && ts.some((t) => t.Status.State === 'complete')) {
      for (const t of view.extra) out.update.push(withDesiredState(t, 'shutdown'));
      continue; // this node's part of the job is done
    }
    const outcome = supervise(view, {
      service,
      nodes: nodesById,
      constraints,
      ctx,
      out,
      replacement: (desired) => newTask(service, { nodeId, desired }, ctx),
      job,
      replaceOnNodeLoss: false,
      mayRestart: !!node && acceptsNewTasks(node, constraints),
    });
    if (outcome.kind === 'empty' && node && acceptsNewTasks(node, constraints) && out.create.length < (ctx.maxCreate ?? Infinity)) {
      out.create.push(newTask(service, { nodeId, desired: job ? 'complete' : 'running' }, ctx));
    }
  }
  return out;
}

/**
 * Global jobs: one run to completion per eligible node for the current job iteration
 * (`Service.JobStatus.JobIteration`). A node that completed is never run again in that
 * iteration; a node that joins later gets its run. Failures restart per the policy
 * (default on-failure).
 */
export function reconcileGlobalJob(
  service: Service,
  tasks: readonly Task[],
  nodes: ReadonlyMap<string, Node> | readonly Node[],
  ctx: ReconcileContext,
): Reconciliation {
  return reconcileGlobal(service, tasks, nodes, { ...ctx, job: true });
}
