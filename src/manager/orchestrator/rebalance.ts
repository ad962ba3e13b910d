/**
 * Rebalancing (issue 22, item 1; moby#24103): the decision that moves tasks of one
 * replicated service toward the spread the scheduler would choose now, after a node
 * joined, came back from down or became active again. Pure: time, the nodes' stability
 * and the cooldowns come in as values; the controller writes the result.
 *
 * A move of the task O in slot s to node N creates a replacement R for slot s, assigned
 * to N and labelled {@link MOVED_FROM_LABEL} = O's ID. Start-first: O keeps running
 * (the orchestrator does not see it while R is on its way, see {@link hideMovedTasks})
 * and is stopped once R runs; stop-first: O is stopped when R is created.
 *
 * The rules (each one a reason the plan may be empty):
 * - Only replicated services (never a job's task, never a global service), with
 *   rebalancing on for the service and the swarm, not in an update or rollback, with no
 *   placement preferences (the scheduler spreads those over label values, which the
 *   count rule below does not model), and converged: every wanted task runs.
 * - Gain: a task moves from the node with the most tasks of the service to the eligible
 *   node with the fewest (ties as the scheduler breaks them: fewest tasks overall, then
 *   lowest ID) only when their counts differ by 2 or more. A gap of 1 is the best an
 *   integer spread can do; moving then only swaps which node has the extra task. So a
 *   move always lowers the sum of squared counts and a later plan never undoes it.
 * - Budget: at most `UpdateConfig.Parallelism` moves of the service in flight (0: no
 *   limit, as Docker's parallelism); start-first when `UpdateConfig.Order` is
 *   start-first or the service has a health check (then never fewer than Replicas
 *   tasks run), stop-first otherwise.
 * - Eligible target: ready, active, passing the scheduler's filters for the service
 *   (constraints, resources, platform, host ports, max replicas per node), ready and
 *   active without a break for at least `settleMs` (hysteresis: a node that flaps never
 *   stays up long enough to receive tasks), and not in cooldown for the service (a move
 *   there failed or timed out within `cooldownMs`; read from the replacement tasks).
 * - A replacement not running `moveTimeoutMs` after its creation is cancelled: the old
 *   task stays (start-first) or the orchestrator replaces it anywhere (stop-first).
 */
import type { Node } from '../../api/types/node.ts';
import type { Service } from '../../api/types/service.ts';
import { isTerminal, type Task } from '../../api/types/task.ts';
import { rebalanceEnabled } from '../../api/spec/rebalance-policy.ts';
import { wantsToRun, withDesiredState } from '../../common/task-state.ts';
import { buildNodeInfos, type TasksByNode } from '../scheduler/scheduler.ts';
import { Pipeline } from '../scheduler/pipeline.ts';
import type { NodeInfo } from '../scheduler/node-info.ts';

/** On a replacement task: the ID of the task it moves. */
export const MOVED_FROM_LABEL = 'com.shoal.rebalance.from';
/** On a replacement task: why it was made (shown in events and `inspect`). */
export const MOVE_REASON_LABEL = 'com.shoal.rebalance.reason';
/** On a replacement task: the node the moved task ran on. */
export const MOVED_FROM_NODE_LABEL = 'com.shoal.rebalance.node.from';
/**
 * On a replacement task: when its move was cancelled (ISO time). Its node's cooldown is
 * read back from it, so the store, not the leader's memory, keeps the cooldowns.
 */
export const MOVE_CANCELLED_LABEL = 'com.shoal.rebalance.cancelled';

/** The replacement `r` cancelled at `now` (ms): stopped, and labelled for its node's cooldown. */
export function cancelledMove(r: Task, now: number): Task {
  return { ...withDesiredState(r, 'shutdown'), Labels: { ...r.Labels, [MOVE_CANCELLED_LABEL]: new Date(now).toISOString() } };
}

/**
 * The attributes of the `rebalance` service event a new replacement task makes
 * (`docker events` shows it: `service rebalance ID (name=web, task.from=…, node.to=…, reason=…)`),
 * or undefined for any other task.
 */
export function moveEventAttributes(t: Task): Record<string, string> | undefined {
  const from = t.Labels?.[MOVED_FROM_LABEL];
  if (!from) return undefined;
  return {
    name: t.ServiceAnnotations?.Name ?? '',
    'task.from': from,
    'task.to': t.ID,
    'node.from': t.Labels[MOVED_FROM_NODE_LABEL] ?? '',
    'node.to': t.NodeID ?? '',
    reason: t.Labels[MOVE_REASON_LABEL] ?? '',
  };
}

/** Timing of the rules, ms. */
export interface RebalanceTiming {
  /** How long a node must stay ready and active before tasks move to it. Default 10 000. */
  settleMs: number;
  /** How long a replacement may take to run before the move is cancelled. Default 60 000. */
  moveTimeoutMs: number;
  /** How long a node gets no moves of a service after one there failed or timed out. Default 300 000. */
  cooldownMs: number;
}

export const DEFAULT_TIMING: RebalanceTiming = { settleMs: 10_000, moveTimeoutMs: 60_000, cooldownMs: 300_000 };

/** What one decision reads. */
export interface RebalanceInput {
  service: Service;
  /** The service's tasks. */
  tasks: readonly Task[];
  nodes: readonly Node[];
  /** Every unfinished task by node (all services), for the scheduler's resource and port checks. */
  tasksByNode: TasksByNode;
  /** Now, ms since the epoch. */
  now: number;
  /** Since when each node has been ready and active without a break (ms); a node absent here is not eligible. */
  stableSince: ReadonlyMap<string, number>;
  /** Node ID → how it became eligible (`joined`, `returned from down`, `became active`), for the reason text. */
  nodeReasons?: ReadonlyMap<string, string>;
  /** The swarm spec's labels (the cluster-wide switch). */
  swarmLabels?: Readonly<Record<string, string>>;
  timing?: Partial<RebalanceTiming>;
}

/** One move to start. */
export interface Move {
  /** The task that moves (it keeps running until the replacement does, when start-first). */
  task: Task;
  fromNode: string;
  toNode: string;
  order: 'start-first' | 'stop-first';
  /** Why, in words: `h3 joined; h1 has 3 tasks of web, h3 has 0`. */
  reason: string;
}

/** The decision for one service. */
export interface RebalancePlan {
  /** Moves to start now. */
  start: Move[];
  /** Old tasks to stop: their replacement runs. */
  finish: Task[];
  /** Replacements to stop (not running in time), as {@link cancelledMove}: their nodes go into cooldown. */
  cancel: Task[];
  /** Decide again then (a node's settle time ends, a move times out), ms since the epoch. */
  wakeAt?: number;
  /** Why nothing was considered (opt-out, job, updating, …); undefined when the counts were looked at. */
  skipped?: string;
}

const empty = (skipped?: string): RebalancePlan => ({ start: [], finish: [], cancel: [], ...(skipped ? { skipped } : {}) });
const ms = (iso: string | undefined): number => (iso ? Date.parse(iso) : 0);

/** The replacement tasks of `tasks` that are on their way or running, by the ID of the task they move. */
function replacements(tasks: readonly Task[]): Map<string, Task> {
  const m = new Map<string, Task>();
  for (const t of tasks) {
    const from = t.Labels?.[MOVED_FROM_LABEL];
    if (from && wantsToRun(t.DesiredState) && !isTerminal(t.Status.State)) m.set(from, t);
  }
  return m;
}

/**
 * The tasks the orchestrator should see: a task whose replacement is on its way or
 * running (start-first move) is left out, so the slot does not look doubled and the
 * orchestrator supervises the replacement; once the replacement fails, the old task is
 * seen again and keeps the slot.
 */
export function hideMovedTasks(tasks: readonly Task[]): Task[] {
  const moving = replacements(tasks);
  if (moving.size === 0) return [...tasks];
  return tasks.filter((t) => !moving.has(t.ID));
}

function hasHealthCheck(service: Service): boolean {
  const test = service.Spec.TaskTemplate.ContainerSpec?.Healthcheck?.Test;
  return !!test?.length && test[0] !== 'NONE';
}

/** Why the service is not rebalanced at all, or undefined. */
function notEligible(input: RebalanceInput): string | undefined {
  const { service } = input;
  if (!service.Spec.Mode?.Replicated && service.Spec.Mode !== undefined) return 'not a replicated service';
  if (!rebalanceEnabled(input.swarmLabels)) return 'rebalancing is off for the swarm';
  if (!rebalanceEnabled(service.Spec.Labels)) return 'rebalancing is off for the service';
  const u = service.UpdateStatus?.State;
  if (u === 'updating' || u === 'paused' || u === 'rollback_started' || u === 'rollback_paused') return `the service is in an update (${u})`;
  if (service.Spec.TaskTemplate.Placement?.Preferences?.length) return 'the service has placement preferences';
  return undefined;
}

/** Decides the moves of one service; see the file comment for the rules. */
export function planRebalance(input: RebalanceInput): RebalancePlan {
  const skip = notEligible(input);
  if (skip) return empty(skip);
  const timing = { ...DEFAULT_TIMING, ...input.timing };
  const { service, now } = input;
  const plan = empty();
  const wake = (at: number) => { if (at > now && (plan.wakeAt === undefined || at < plan.wakeAt)) plan.wakeAt = at; };

  const wanted = input.tasks.filter((t) => t.ServiceID === service.ID && wantsToRun(t.DesiredState) && !isTerminal(t.Status.State));
  const moving = replacements(wanted);
  const byId = new Map(input.tasks.map((t) => [t.ID, t]));
  /** Replacements whose move is not over: not running yet, or their old task not stopped yet. */
  const inFlight = new Set<string>();
  for (const [fromId, r] of moving) {
    const old = byId.get(fromId);
    const oldWanted = !!old && wantsToRun(old.DesiredState);
    if (r.Status.State === 'running') {
      if (oldWanted) plan.finish.push(old!);
      continue;
    }
    inFlight.add(r.ID);
    const deadline = ms(r.CreatedAt) + timing.moveTimeoutMs;
    if (now >= deadline) {
      plan.cancel.push(cancelledMove(r, now));
      continue;
    }
    wake(deadline);
  }
  if (plan.finish.length || plan.cancel.length) return plan; // one step at a time: the next pass sees the result

  // Converged: every wanted task (old tasks of moves included) runs on a node.
  const placed = wanted.filter((t) => !moving.has(t.ID));
  if (placed.some((t) => !t.NodeID || (t.Status.State !== 'running' && !inFlight.has(t.ID)))) return { ...plan, skipped: 'the service is converging' };
  const parallelism = service.Spec.UpdateConfig?.Parallelism ?? 1;
  let budget = (parallelism === 0 ? Infinity : parallelism) - inFlight.size;
  if (budget <= 0) return plan;

  // Per-node counts as the scheduler sees them, an in-flight move counted at its target.
  // Cooldowns come from the tasks (so they survive a leader change): a replacement that
  // failed, or whose move was cancelled, recently puts its node in cooldown.
  const cooldown = new Map<string, number>();
  for (const t of input.tasks) {
    if (!t.Labels?.[MOVED_FROM_LABEL] || !t.NodeID) continue;
    const cancelled = t.Labels[MOVE_CANCELLED_LABEL];
    const endedAt = cancelled ? ms(cancelled) : t.Status.State === 'failed' || t.Status.State === 'rejected' ? ms(t.Status.Timestamp) : undefined;
    if (endedAt !== undefined && endedAt + timing.cooldownMs > now) cooldown.set(t.NodeID, Math.max(cooldown.get(t.NodeID) ?? 0, endedAt + timing.cooldownMs));
  }
  const infos = buildNodeInfos(input.nodes, input.tasksByNode);
  const counts = new Map<string, number>();
  for (const t of placed) counts.set(t.NodeID!, (counts.get(t.NodeID!) ?? 0) + 1);
  const rep = placed.find((t) => !inFlight.has(t.ID)) ?? placed[0];
  if (!rep) return plan;
  const pipeline = new Pipeline();
  pipeline.setTask(rep);
  const hostname = (id: string) => infos.get(id)?.node.Description?.Hostname || id;

  const isTarget = (n: NodeInfo): boolean => {
    const since = input.stableSince.get(n.id);
    if (since === undefined) return false;
    if (now < since + timing.settleMs) { wake(since + timing.settleMs); return false; }
    const until = cooldown.get(n.id) ?? 0;
    if (until > now) { wake(until); return false; }
    return pipeline.process(n);
  };
  const order: Move['order'] = service.Spec.UpdateConfig?.Order === 'start-first' || hasHealthCheck(service) ? 'start-first' : 'stop-first';
  // Each node's tasks that may move (running, not a replacement in flight), in the order of
  // `placed`; a task picked for a move leaves its list. Built once: filtering every task
  // for every node on each step took 1.75 s of a new leader's CPU in the 12 s profiled
  // around a failover at 1,000 nodes and 10,000 tasks, while every session came back to it.
  const movable = new Map<string, Task[]>();
  for (const t of placed) {
    if (t.Status.State !== 'running' || inFlight.has(t.ID)) continue;
    (movable.get(t.NodeID!) ?? movable.set(t.NodeID!, []).get(t.NodeID!)!).push(t);
  }

  while (budget > 0) {
    const targets = [...infos.values()].filter(isTarget);
    if (targets.length === 0) break;
    targets.sort((a, b) => (counts.get(a.id) ?? 0) - (counts.get(b.id) ?? 0) || a.activeTasks - b.activeTasks || (a.id < b.id ? -1 : 1));
    const to = targets[0];
    const low = counts.get(to.id) ?? 0;
    // The fullest node that has a task able to move (ties: the lowest ID, deterministic).
    const from = [...counts.entries()]
      .filter(([id]) => id !== to.id && (movable.get(id)?.length ?? 0) > 0)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    if (!from || from[1] - low < 2) break;
    // The highest slot moves (ties: the first in `placed`; the sort is stable).
    const candidates = movable.get(from[0])!.sort((a, b) => (b.Slot ?? 0) - (a.Slot ?? 0));
    const task = candidates.shift()!;
    const why = input.nodeReasons?.get(to.id);
    plan.start.push({
      task, fromNode: from[0], toNode: to.id, order,
      reason: `${why ? `${hostname(to.id)} ${why}; ` : ''}${hostname(from[0])} has ${from[1]} tasks of ${service.Spec.Name}, ${hostname(to.id)} has ${low}`,
    });
    counts.set(from[0], from[1] - 1);
    counts.set(to.id, low + 1);
    to.assign(task);
    budget--;
  }
  return plan;
}
