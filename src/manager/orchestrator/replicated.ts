/**
 * The replicated orchestrator's decision. Slots 1..Replicas each hold one task. Scaling
 * up fills the lowest free slots; scaling down removes slots, preferring (as SwarmKit)
 * tasks that are not assigned, then tasks on the nodes with the most tasks of the
 * service, then tasks that are not running, then the highest slots. A slot whose task
 * finished is restarted per the restart policy; a task whose node is gone, down,
 * drained or no longer matches the constraints is replaced.
 */
import type { Node } from '../../api/types/node.ts';
import type { Service } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { newTask } from './new-task.ts';
import { groupBy, serviceConstraints, viewSlot } from './slots.ts';
import { supervise, type SlotOutcome } from './supervise.ts';
import { withDesiredState } from '../../common/task-state.ts';
import { emptyReconciliation, nodeMap, type ReconcileContext, type Reconciliation } from './types.ts';

interface Filled {
  slot: number;
  task: Task;
  running: boolean;
  /** nth task of the service on its node (1, 2, …) in keep order; -1 when unassigned. */
  copy: number;
}

/**
 * Which slots to remove when `keep` of `filled` stay: returns the slots to remove.
 * Exported for tests of the ordering.
 */
export function slotsToRemove(filled: { slot: number; task: Task; running: boolean }[], keep: number): number[] {
  if (filled.length <= keep) return [];
  const order = [...filled].sort((a, b) => Number(b.running) - Number(a.running) || a.slot - b.slot);
  const perNode = new Map<string, number>();
  const ranked: Filled[] = order.map((f) => {
    if (!f.task.NodeID) return { ...f, copy: -1 };
    const c = (perNode.get(f.task.NodeID) ?? 0) + 1;
    perNode.set(f.task.NodeID, c);
    return { ...f, copy: c };
  });
  // Stable: keeps the running-first, lowest-slot-first order among equal copy numbers.
  ranked.sort((a, b) => (a.copy < 0 ? 1 : 0) - (b.copy < 0 ? 1 : 0) || (a.copy < 0 ? 0 : a.copy - b.copy));
  return ranked.slice(keep).map((f) => f.slot);
}

/**
 * Decides the changes that bring a replicated service to its spec. `tasks` are the
 * service's tasks (others are ignored); `nodes` all nodes. Pure; see {@link Reconciliation}.
 */
export function reconcileReplicated(
  service: Service,
  tasks: readonly Task[],
  nodes: ReadonlyMap<string, Node> | readonly Node[],
  ctx: ReconcileContext,
): Reconciliation {
  const out = emptyReconciliation();
  const replicas = service.Spec.Mode?.Replicated?.Replicas ?? 1;
  const nodesById = nodeMap(nodes);
  const constraints = serviceConstraints(service);
  const mine = tasks.filter((t) => t.ServiceID === service.ID && (t.Slot ?? 0) > 0);
  const bySlot = groupBy(mine, (t) => t.Slot!);

  // What fills each slot today, before any change.
  const views = new Map([...bySlot].map(([slot, ts]) => [slot, viewSlot(ts)]));
  const filled: { slot: number; task: Task; running: boolean }[] = [];
  for (const [slot, v] of views) {
    const task = v.current ?? v.finished[0];
    if (task) filled.push({ slot, task, running: v.current?.Status.State === 'running' });
  }
  const removed = new Set(slotsToRemove(filled, replicas));

  const kept = new Set<number>();
  for (const [slot, v] of [...views].sort((a, b) => a[0] - b[0])) {
    if (removed.has(slot)) {
      for (const t of [...(v.current ? [v.current] : []), ...v.extra, ...v.finished]) {
        if (t.DesiredState !== 'remove') out.update.push(withDesiredState(t, 'remove'));
      }
      continue;
    }
    const outcome: SlotOutcome = supervise(v, {
      service,
      nodes: nodesById,
      constraints,
      ctx,
      out,
      replacement: (desired) => newTask(service, { slot, desired }, ctx),
      job: false,
      replaceOnNodeLoss: true,
      mayRestart: true,
    });
    if (outcome.kind !== 'empty') kept.add(slot);
  }

  let missing = replicas - kept.size;
  const maxCreate = ctx.maxCreate ?? Infinity;
  for (let slot = 1; missing > 0 && out.create.length < maxCreate; slot++) {
    if (kept.has(slot)) continue;
    out.create.push(newTask(service, { slot }, ctx));
    missing--;
  }
  return out;
}
