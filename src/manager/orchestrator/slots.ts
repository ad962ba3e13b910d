/**
 * Shared pieces of the orchestrators: which nodes may keep or get a task, and how the
 * tasks of one slot (or of one node, for global services) are sorted into the task to
 * keep, duplicates to stop and the newest finished one.
 */
import type { Node } from '../../api/types/node.ts';
import type { Service } from '../../api/types/service.ts';
import { isTerminal, taskStateRank, type Task } from '../../api/types/task.ts';
import { nodeMatches, parseConstraints, type Constraint } from '../../api/spec/constraint.ts';
import { ms } from './restart-policy.ts';
import { wantsToRun } from '../../common/task-state.ts';

/** Why a task may not stay on its node: `gone` (removed), `down`, `drained`, `unmatched` (constraints). */
export type NodeVerdict = 'ok' | 'gone' | 'down' | 'drained' | 'unmatched';

/** The service's placement constraints; constraints that do not parse (refused at validation) are ignored. */
export function serviceConstraints(service: Service): Constraint[] {
  try {
    return parseConstraints(service.Spec.TaskTemplate.Placement?.Constraints ?? []);
  } catch {
    return [];
  }
}

/** Whether a task may stay on `node`. Paused and not-yet-ready (`unknown`, `disconnected`) nodes keep their tasks. */
export function nodeVerdict(node: Node | undefined, constraints: readonly Constraint[]): NodeVerdict {
  if (!node) return 'gone';
  if (node.Status?.State === 'down') return 'down';
  if (node.Spec?.Availability === 'drain') return 'drained';
  if (constraints.length > 0 && !nodeMatches(constraints, node)) return 'unmatched';
  return 'ok';
}

/** Whether a new task may be created for `node` (global modes): ready, active and matching. */
export function acceptsNewTasks(node: Node, constraints: readonly Constraint[]): boolean {
  return node.Status?.State === 'ready' && node.Spec?.Availability === 'active' && nodeMatches(constraints, node);
}

/** The tasks of one slot (or node), sorted out. */
export interface SlotView {
  /** The task that fills the slot: wanted and not finished. */
  current?: Task;
  /** Other wanted, unfinished tasks: duplicates to stop. */
  extra: Task[];
  /** Wanted tasks that finished on their own (newest first); the first decides a restart when there is no `current`. */
  finished: Task[];
  /** All tasks of the slot, oldest first. */
  all: Task[];
}

function newerFirst(a: Task, b: Task): number {
  return ms(b.CreatedAt) - ms(a.CreatedAt) || (a.ID < b.ID ? 1 : a.ID > b.ID ? -1 : 0);
}

/** Sorts the tasks of one slot. The current task is the one furthest along (running first), then the newest. */
export function viewSlot(tasks: readonly Task[]): SlotView {
  const all = [...tasks].sort((a, b) => -newerFirst(a, b));
  const wanted = all.filter((t) => wantsToRun(t.DesiredState));
  const unfinished = wanted.filter((t) => !isTerminal(t.Status.State));
  unfinished.sort((a, b) => taskStateRank(b.Status.State) - taskStateRank(a.Status.State) || newerFirst(a, b));
  const finished = wanted.filter((t) => isTerminal(t.Status.State)).sort(newerFirst);
  return { current: unfinished[0], extra: unfinished.slice(1), finished, all };
}

/** Groups tasks by a key; keys in first-seen order. */
export function groupBy<K>(tasks: readonly Task[], key: (t: Task) => K): Map<K, Task[]> {
  const m = new Map<K, Task[]>();
  for (const t of tasks) {
    const k = key(t);
    const g = m.get(k);
    if (g) g.push(t);
    else m.set(k, [t]);
  }
  return m;
}
