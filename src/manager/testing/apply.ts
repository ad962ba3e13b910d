/** Test helpers: apply a reconciliation to a task list, and play the scheduler and agent. */
import type { Task, TaskState } from '../../api/types/task.ts';
import type { Reconciliation } from '../orchestrator/types.ts';

export function apply(tasks: Task[], r: Reconciliation): Task[] {
  const upd = new Map(r.update.map((t) => [t.ID, t]));
  const del = new Set(r.delete);
  return [...tasks.filter((t) => !del.has(t.ID)).map((t) => upd.get(t.ID) ?? t), ...r.create];
}

/** Puts a task on a node in a state (as scheduler + agent would). */
export function run(tasks: Task[], id: string, nodeId: string, state: TaskState = 'running', at = 0): Task[] {
  return tasks.map((t) => (t.ID === id ? { ...t, NodeID: nodeId, Status: { ...t.Status, State: state, Timestamp: new Date(at).toISOString() } } : t));
}

/** Moves a task to an observed state at time `at` (ms). */
export function setState(tasks: Task[], id: string, state: TaskState, at = 0): Task[] {
  return tasks.map((t) => (t.ID === id ? { ...t, Status: { ...t.Status, State: state, Timestamp: new Date(at).toISOString() } } : t));
}

export function ids(prefix = 't'): () => string {
  let n = 0;
  return () => `${prefix}${++n}`;
}

export function isEmpty(r: Reconciliation): boolean {
  return r.create.length === 0 && r.update.length === 0 && r.delete.length === 0;
}
