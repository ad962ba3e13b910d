/**
 * A reconciliation cut to a budget of new tasks (pure). The fill of missing slots is
 * bounded inside the reconcilers (`maxCreate`), but replacements are not: 100 nodes
 * lost at once with 100 tasks each made one transaction of 10,000 shutdowns and 10,000
 * new tasks, one Raft entry that stalled the leader past its followers' election timeout.
 *
 * A replacement travels with the change to the task it replaces (same slot: slot number,
 * or node for global services). Cutting keeps whole slots: the first `budget` new tasks,
 * and of the other changes only those of slots that keep their new task or had none; a
 * slot cut away is untouched, so the next pass sees it as this one did and replaces it then.
 */
import type { Task } from '../../api/types/task.ts';
import type { Reconciliation } from './types.ts';

/** `r` with at most `budget` new tasks, the changes of the slots cut away left for a later pass; `more` when something was cut. */
export function boundReconciliation(r: Reconciliation, budget: number, slotOf: (t: Task) => string | undefined): { r: Reconciliation; more: boolean } {
  if (r.create.length <= budget) return { r, more: false };
  const kept = r.create.slice(0, Math.max(0, budget));
  const cut = new Set<string>();
  for (const t of r.create.slice(kept.length)) {
    const k = slotOf(t);
    if (k !== undefined) cut.add(k);
  }
  // A slot with a kept new task and one cut away (never from one reconcile, but cheap to honour) keeps its changes.
  for (const t of kept) {
    const k = slotOf(t);
    if (k !== undefined) cut.delete(k);
  }
  const update = r.update.filter((t) => {
    const k = slotOf(t);
    return k === undefined || !cut.has(k);
  });
  return { r: { ...r, create: kept, update }, more: true };
}
