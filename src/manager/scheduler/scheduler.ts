/**
 * The scheduler's decision: given pending tasks, the nodes and the tasks already on
 * them, choose a node for each task or explain why none fits. Pure and deterministic.
 *
 * Tasks are placed in groups (same service and spec version), a whole group at once:
 * the filters run once per node for the group, nodes are spread over the placement
 * preferences, and within a branch the node with the fewest tasks of the service, then
 * the fewest tasks overall (then the lowest ID) wins, as SwarmKit's node ordering. Per-node
 * counters are updated as each task is placed, and a node is re-checked after each.
 */
import type { Node } from '../../api/types/node.ts';
import type { Task } from '../../api/types/task.ts';
import type { Filter } from './filters.ts';
import { wantsToRun } from '../../common/task-state.ts';
import { NodeInfo } from './node-info.ts';
import { Pipeline, noSuitableNode } from './pipeline.ts';
import { SpreadTree, spreadValue } from './spread.ts';

/** The outcome of one scheduling pass. */
export interface ScheduleResult {
  /** Task ID → node ID for every task placed. */
  assignments: Map<string, string>;
  /** Task ID → Docker's explanation (`no suitable node (…)`) for every task left pending. */
  unplaced: Map<string, string>;
}

export interface ScheduleOptions {
  /** The filter pipeline, in order (default: ready, availability, resources, constraints, platform, host ports, max replicas). */
  filters?: Filter[];
  /**
   * The current time, ms since the epoch. When given, a node where the service's tasks
   * failed `MAX_RECENT_FAILURES` times within `RECENT_FAILURE_WINDOW_MS` goes after the
   * others, as SwarmKit does, so a crash loop moves off a bad node.
   */
  now?: number;
}

/** Failures of a service on a node, within the window, that push the node back (SwarmKit: 5 in 5 min). */
export const MAX_RECENT_FAILURES = 5;
export const RECENT_FAILURE_WINDOW_MS = 5 * 60_000;

/** Tasks already on nodes, by node ID (any iterable of tasks per node). */
export type TasksByNode = ReadonlyMap<string, Iterable<Task>>;

function less(a: NodeInfo, b: NodeInfo): boolean {
  if ((a.groupFailures >= MAX_RECENT_FAILURES || b.groupFailures >= MAX_RECENT_FAILURES) && a.groupFailures !== b.groupFailures) {
    return a.groupFailures < b.groupFailures;
  }
  if (a.groupCount !== b.groupCount) return a.groupCount < b.groupCount;
  if (a.activeTasks !== b.activeTasks) return a.activeTasks < b.activeTasks;
  return a.id < b.id;
}

function groupKey(t: Task): string {
  return t.SpecVersion ? `${t.ServiceID}\u0000${t.SpecVersion.Index}` : t.ServiceID;
}

/** Builds the per-node state from the nodes and the tasks on them (tasks on unknown nodes are ignored); failures since `failureSince` (ms) count as recent. */
export function buildNodeInfos(nodes: Iterable<Node>, tasksByNode: TasksByNode, failureSince = Infinity): Map<string, NodeInfo> {
  const infos = new Map<string, NodeInfo>();
  for (const n of nodes) infos.set(n.ID, new NodeInfo(n));
  for (const [nodeId, tasks] of tasksByNode) {
    const info = infos.get(nodeId);
    if (info) for (const t of tasks) info.addTask(t, failureSince);
  }
  return infos;
}

/**
 * Places `pendingTasks` on `nodes`. A task that already names a node (global services)
 * is only checked against that node. Tasks no longer wanted (desired state past
 * running, but not `complete`) are skipped: they appear in neither result map. The inputs are not modified; the caller writes
 * the assignments (state `assigned`, `NodeID`) and the explanations (`Status.Err`).
 */
export function schedule(pendingTasks: readonly Task[], nodes: readonly Node[], tasksByNode: TasksByNode, opts: ScheduleOptions = {}): ScheduleResult {
  const infos = buildNodeInfos(nodes, tasksByNode, opts.now === undefined ? Infinity : opts.now - RECENT_FAILURE_WINDOW_MS);
  const all = [...infos.values()];
  const pipeline = new Pipeline(opts.filters);
  const result: ScheduleResult = { assignments: new Map(), unplaced: new Map() };

  const groups = new Map<string, Task[]>();
  for (const t of pendingTasks) {
    if (!wantsToRun(t.DesiredState)) continue; // stopped before it was placed: nothing to do
    const k = groupKey(t);
    const g = groups.get(k);
    if (g) g.push(t);
    else groups.set(k, [t]);
  }

  for (const group of groups.values()) {
    const rep = group[0];
    const service = rep.ServiceID;
    pipeline.setTask(rep);
    for (const n of all) {
      n.groupCount = n.byService.get(service) ?? 0;
      n.groupFailures = n.recentFailures.get(service) ?? 0;
    }

    const assign = (t: Task, n: NodeInfo): void => {
      n.assign(t);
      n.groupCount++;
      result.assignments.set(t.ID, n.id);
    };

    const floating: Task[] = [];
    for (const t of group) {
      if (!t.NodeID) {
        floating.push(t);
        continue;
      }
      const n = infos.get(t.NodeID);
      pipeline.resetCounts();
      if (n && pipeline.process(n)) assign(t, n);
      else result.unplaced.set(t.ID, noSuitableNode(pipeline.explain()));
    }
    if (floating.length === 0) continue;

    const prefs = (rep.Spec?.Placement?.Preferences ?? []).map((p) => p.Spread?.SpreadDescriptor).filter((d): d is string => !!d);
    const root = new SpreadTree('', less);
    for (const n of all) {
      let branch = root;
      for (const d of prefs) {
        const v = spreadValue(d, n.node);
        if (v === undefined) continue;
        branch.tasks += n.groupCount;
        branch = branch.child(v);
      }
      branch.tasks += n.groupCount;
      if (pipeline.process(n)) branch.addNode(n);
    }
    root.seal();

    const left: Task[] = [];
    for (const t of floating) {
      const n = root.place((node) => {
        assign(t, node);
        return pipeline.process(node);
      });
      if (!n) left.push(t);
    }
    if (left.length > 0) {
      pipeline.resetCounts();
      for (const n of all) pipeline.process(n);
      const why = noSuitableNode(pipeline.explain());
      for (const t of left) result.unplaced.set(t.ID, why);
    }
  }
  return result;
}
