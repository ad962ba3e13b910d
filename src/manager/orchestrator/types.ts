/**
 * What every reconcile function takes and returns. A reconcile function is pure: given
 * a service, its tasks and the nodes, it returns the intended changes; a controller
 * writes them through the store in one transaction and calls it again on the next
 * commit that touches the service, its tasks or the nodes (or at `wakeAt`).
 */
import type { Node } from '../../api/types/node.ts';
import type { Task } from '../../api/types/task.ts';

export interface ReconcileContext {
  /** The current time, milliseconds since the epoch. */
  now: number;
  /** Returns a fresh, unique task ID. */
  newId: () => string;
  /**
   * At most this many tasks are created (default: no limit); the rest come on the next
   * call. The controller sets it so one huge spec is written in bounded transactions.
   */
  maxCreate?: number;
}

/** The intended changes. Applying them and reconciling again with the same inputs yields no changes. */
export interface Reconciliation {
  /** New tasks (state `new`), to be created. */
  create: Task[];
  /** Changed copies of existing tasks (only `DesiredState` differs), to be written back. */
  update: Task[];
  /** IDs of tasks to delete from the store. */
  delete: string[];
  /** When set: reconcile again at this time (ms since the epoch), when a restart delay ends. */
  wakeAt?: number;
}

export function emptyReconciliation(): Reconciliation {
  return { create: [], update: [], delete: [] };
}

/** Sets `wakeAt` to the earlier of its current value and `at`. */
export function wakeNoLaterThan(r: Reconciliation, at: number): void {
  r.wakeAt = r.wakeAt === undefined ? at : Math.min(r.wakeAt, at);
}

/** Nodes by ID, from a map or a list. */
export function nodeMap(nodes: ReadonlyMap<string, Node> | readonly Node[]): ReadonlyMap<string, Node> {
  return nodes instanceof Map ? nodes : new Map((nodes as readonly Node[]).map((n) => [n.ID, n]));
}
