/** A task's display name, shared by the manager (which names new tasks) and the worker (which names containers and DNS records by it). */
import type { Task } from '../api/types/task.ts';

/**
 * Docker's display name of a task: its `Name` when it has one, else
 * `<service>.<slot>.<task id>` for replicated tasks, `<service>.<node id>.<task id>` for
 * global ones (no slot). DNS answers task names by it too.
 */
export function taskName(task: Pick<Task, 'ID' | 'Name' | 'Slot' | 'NodeID' | 'ServiceAnnotations' | 'ServiceID'>): string {
  if (task.Name) return task.Name;
  const service = task.ServiceAnnotations?.Name ?? task.ServiceID;
  const where = task.Slot ? String(task.Slot) : (task.NodeID ?? '');
  return `${service}.${where}.${task.ID}`;
}
