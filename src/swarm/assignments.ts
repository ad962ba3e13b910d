/**
 * What a node is told about its tasks, as a pure diff (SwarmKit's dispatcher rules):
 * a node's assignment set holds the tasks the scheduler gave it (NodeID = node, observed
 * state assigned or later), whatever their desired state, until they are deleted from
 * the store. A task is (re)sent when it enters the set or its desired state changes;
 * status changes the node reported itself are not echoed back.
 */
import { TASK_STATES, type Task } from '../api/types/task.ts';
import { assertForward, TaskStateError } from '../manager/orchestrator/task-state.ts';
import type { SessionFrame } from './types.ts';

const ASSIGNED = TASK_STATES.indexOf('assigned');

/** Whether `task` belongs in the assignment set of `nodeId`. */
export function isAssignedTo(task: Task, nodeId: string): boolean {
  return task.NodeID === nodeId && TASK_STATES.indexOf(task.Status.State) >= ASSIGNED;
}

type AssignmentFrame = Extract<SessionFrame, { type: 'assignments' }>;

/**
 * The assignment set as last sent to one node. Owned by one session; not shared.
 * Invariant: `sent` holds exactly the task IDs the node was told about, each with the
 * desired state it was last sent with.
 */
export class AssignmentSet {
  private readonly sent = new Map<string, string>();

  constructor(readonly nodeId: string) {}

  /** The whole set (first frame of a session); `tasks` may hold tasks of other nodes, which are skipped. */
  full(tasks: Iterable<Task>): AssignmentFrame {
    this.sent.clear();
    const out: Task[] = [];
    for (const t of tasks) {
      if (!isAssignedTo(t, this.nodeId)) continue;
      this.sent.set(t.ID, t.DesiredState);
      out.push(t);
    }
    return { type: 'assignments', full: true, tasks: out, removed: [] };
  }

  /**
   * The incremental frame for tasks that changed (`current`: their state now, undefined
   * when deleted), or undefined when the node need not hear about it.
   */
  diff(changes: Iterable<{ id: string; current: Task | undefined }>): AssignmentFrame | undefined {
    const tasks: Task[] = [];
    const removed: string[] = [];
    for (const { id, current } of changes) {
      const had = this.sent.get(id);
      if (current && isAssignedTo(current, this.nodeId)) {
        if (had === current.DesiredState) continue;
        this.sent.set(id, current.DesiredState);
        tasks.push(current);
      } else if (had !== undefined) {
        this.sent.delete(id);
        removed.push(id);
      }
    }
    return tasks.length || removed.length ? { type: 'assignments', full: false, tasks, removed } : undefined;
  }

  get size(): number {
    return this.sent.size;
  }
}

/**
 * The task after a node's status report, or undefined when the report changes nothing
 * or must be ignored: the task is gone or not this node's, the report repeats the
 * stored status, or it would move the state backward (a stale or reordered report).
 */
export function reportedTask(task: Task | undefined, nodeId: string, status: Task['Status']): Task | undefined {
  if (!task || task.NodeID !== nodeId || !status || typeof status.State !== 'string') return undefined;
  if (!TASK_STATES.includes(status.State)) return undefined;
  try {
    assertForward(task.Status.State, status.State);
  } catch (err) {
    if (err instanceof TaskStateError) return undefined;
    throw err;
  }
  const s = task.Status;
  if (s.State === status.State && s.Message === status.Message && s.Err === status.Err && s.ContainerStatus?.ExitCode === status.ContainerStatus?.ExitCode) return undefined;
  return { ...task, Status: { ...status } };
}
