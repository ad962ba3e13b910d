/**
 * Task state moves only forward. These helpers make every change of a task's observed
 * or desired state go through one check, and throw {@link TaskStateError} (a broken
 * invariant, never returned) when a caller tries to move backward.
 */
import { TASK_STATES, isTerminal, taskStateRank, type Task, type TaskState } from '../api/types/task.ts';

/** A backward state move was attempted: a bug in the caller. */
export class TaskStateError extends Error {
  override name = 'TaskStateError';
}

const RUNNING = TASK_STATES.indexOf('running');

/** Whether a task with this desired state should be (or keep) running: up to running, or complete (jobs). */
export function wantsToRun(desired: TaskState): boolean {
  return TASK_STATES.indexOf(desired) <= RUNNING || desired === 'complete';
}

/**
 * Throws unless `to` is at or after `from` for an observed state: a finished state is
 * final (failed never becomes shutdown), and no state goes back (running → starting).
 */
export function assertForward(from: TaskState, to: TaskState): void {
  if (from === to) return;
  if (isTerminal(from)) throw new TaskStateError(`task state cannot move from ${from} to ${to}: ${from} is final`);
  if (taskStateRank(to) < taskStateRank(from)) throw new TaskStateError(`task state cannot move backward from ${from} to ${to}`);
}

/** Throws unless the desired state `to` is at or after `from` in the lifecycle order (ready → running → shutdown → remove). */
export function assertDesiredForward(from: TaskState, to: TaskState): void {
  if (TASK_STATES.indexOf(to) < TASK_STATES.indexOf(from)) throw new TaskStateError(`desired state cannot move backward from ${from} to ${to}`);
}

/** A copy of `task` with its observed state moved to `state` at `now` (ms). Throws {@link TaskStateError} on a backward move. */
export function withState(task: Task, state: TaskState, opts: { now: number; message?: string; err?: string }): Task {
  assertForward(task.Status.State, state);
  const status = { ...task.Status, State: state, Timestamp: new Date(opts.now).toISOString(), Message: opts.message ?? task.Status.Message };
  if (opts.err !== undefined) status.Err = opts.err;
  return { ...task, Status: status };
}

/** A copy of `task` with `DesiredState` set to `desired`. Throws {@link TaskStateError} on a backward move. */
export function withDesiredState(task: Task, desired: TaskState): Task {
  assertDesiredForward(task.DesiredState, desired);
  return { ...task, DesiredState: desired };
}
