/**
 * What the updater reads from the store, derived again at every pass so that a new
 * leader sees exactly what the old one left: which tasks are out of date, and for each
 * slot (replicated) or node (global) where its replacement stands. No progress is kept
 * in memory; the tasks themselves say which slots are done.
 */
import type { Service, UpdateConfig } from '../../api/types/service.ts';
import { isTerminal, type Task } from '../../api/types/task.ts';
import { DEFAULTS, modeKind } from '../../api/spec/service-spec.ts';
import { ms } from './restart-policy.ts';
import { wantsToRun } from '../../common/task-state.ts';

/**
 * The JSON of deep-frozen objects (store objects are, so their JSON never changes): every
 * orchestrator pass compares each task's spec with its service's, and a service of 10,000
 * replicas made that 20,000 serialisations per pass. Only the values given to `stableJson`
 * are remembered (one entry per spec), not their insides.
 */
const frozenJson = new WeakMap<object, string>();

/** JSON with object keys sorted, so two equal specs compare equal whatever their key order. */
export function stableJson(v: unknown): string {
  if (!v || typeof v !== 'object') return JSON.stringify(v);
  const known = frozenJson.get(v);
  if (known !== undefined) return known;
  const out = sortedJson(v);
  // A frozen shell over a mutable inside could change: remembered only when frozen all through.
  if (isDeepFrozen(v)) frozenJson.set(v, out);
  return out;
}

function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function isDeepFrozen(v: object): boolean {
  if (deepFrozen.has(v)) return true;
  if (!Object.isFrozen(v)) return false;
  for (const x of Object.values(v)) if (x && typeof x === 'object' && !isDeepFrozen(x)) return false;
  deepFrozen.add(v);
  return true;
}
/** Objects found frozen all through (they stay so): a spec shared by many tasks is walked once. */
const deepFrozen = new WeakSet<object>();

/**
 * Whether two JSON values are equal as `stableJson` would say (key order aside, fields
 * that are undefined left out), compared in place. A new leader's first orchestrator pass
 * compares every task's spec with its service's: serialising 10,000 specs to compare them
 * took ~0.4 s of its CPU while every node of the swarm reconnected to it. The answer for a
 * pair of deep-frozen objects (store objects) is remembered, so later passes cost a lookup.
 */
export function sameAsJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object') return equalJson(a, b);
  const known = verdicts.get(a);
  if (known?.other === b) return known.same;
  const same = equalJson(a, b);
  if (isDeepFrozen(a) && isDeepFrozen(b)) verdicts.set(a, { other: b, same });
  return same;
}
/** The last comparison of each deep-frozen value: with what, and the answer. */
const verdicts = new WeakMap<object, { other: object; same: boolean }>();

function equalJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object') return JSON.stringify(a) === JSON.stringify(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equalJson(a[i], b[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let defined = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    defined++;
    if (!Object.hasOwn(y, k) || !equalJson(x[k], y[k])) return false;
  }
  for (const k in y) if (y[k] !== undefined) defined--;
  return defined === 0;
}

/**
 * Whether `task` was made from another spec than the service's current one (SwarmKit's
 * `IsTaskDirty`): its task template differs (a raised `ForceUpdate` included), or the
 * published ports of its endpoint differ.
 */
export function isTaskDirty(service: Service, task: Task): boolean {
  if (!sameAsJson(task.Spec, service.Spec.TaskTemplate)) return true;
  const want = service.Spec.EndpointSpec?.Ports ?? [];
  const have = task.Endpoint?.Spec?.Ports ?? [];
  return !sameAsJson(want, have);
}

/** The key of a task's slot: its slot number (replicated) or its node (global). */
export function slotKey(service: Service, task: Task): string | undefined {
  if (modeKind(service.Spec.Mode) === 'global') return task.NodeID;
  return task.Slot ? String(task.Slot) : undefined;
}

/** Where one slot stands in the update. */
export type SlotPhase =
  /** Holds a running (or starting) out-of-date task and nothing replaces it yet. */
  | 'waiting'
  /** Its replacement exists and is not up yet. */
  | 'starting'
  /** Its replacement is up; the old task still runs (start-first) and is to be stopped. */
  | 'retiring'
  /** Replaced; the `Delay` after it has not passed yet. */
  | 'cooling'
  /** Nothing to do. */
  | 'done';

/** One slot's tasks and phase. */
export interface SlotProgress {
  key: string;
  /** Slot number (replicated) or 0 (global). */
  slot: number;
  /** Global services: the node. */
  nodeId?: string;
  phase: SlotPhase;
  /** Wanted, unfinished, out-of-date tasks (to be stopped). */
  old: Task[];
  /** Up-to-date tasks created since the update started (replacements and their restarts). */
  fresh: Task[];
  /** When the first fresh task came up or ended (ms), if one has. */
  reachedAt?: number;
  /** Whether the update already made a replacement for this slot (false: never tried). */
  attempted: boolean;
}

/** A fresh task that failed or ended early, counted against `MaxFailureRatio`. */
export interface UpdateFailure {
  task: Task;
  /** When it ended, ms. */
  at: number;
}

/** Everything the strategy decides from. */
export interface UpdateView {
  service: Service;
  /** Rolling back (`rollback_started`): the rollback config applies. */
  rollback: boolean;
  /** The config in force (UpdateConfig or RollbackConfig) with Docker's defaults. */
  config: Required<UpdateConfig>;
  /** Update start (ms); tasks created at or after it belong to this update. */
  startedAt: number;
  /** Slots taking part (out of date now, or replaced during this update), by key order. */
  slots: SlotProgress[];
  failures: UpdateFailure[];
}

/** Options of {@link viewUpdate}. */
export interface ViewOptions {
  now: number;
  /** When the update started (ms); default `now` (nothing fresh yet). */
  startedAt?: number;
  /** When a task was seen coming up, ms, as the controller observed it (lost on a leader change). */
  upSince?: ReadonlyMap<string, number>;
  /** Whether a task counts as up: running by default (a health-gating strategy narrows it). */
  isUp?: (t: Task) => boolean;
}

/** States of a fresh task that count as a failure of the update (shutdown is a stop we asked for). */
const FAILED = new Set(['failed', 'rejected', 'complete', 'orphaned']);

/** Docker's defaults under the service's update (or rollback) config. */
export function effectiveConfig(service: Service, rollback: boolean): Required<UpdateConfig> {
  return { ...DEFAULTS.update, ...(rollback ? service.Spec.RollbackConfig : service.Spec.UpdateConfig) } as Required<UpdateConfig>;
}

/** Sorts slot keys: numbers numerically, node IDs as strings. */
function byKey(a: SlotProgress, b: SlotProgress): number {
  return a.slot - b.slot || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Builds the {@link UpdateView} of `service` from its tasks. Pure. */
export function viewUpdate(service: Service, tasks: readonly Task[], o: ViewOptions): UpdateView {
  const rollback = service.UpdateStatus?.State === 'rollback_started' || service.UpdateStatus?.State === 'rollback_paused';
  const config = effectiveConfig(service, rollback);
  const startedAt = o.startedAt ?? o.now;
  const isUp = o.isUp ?? ((t: Task) => t.Status.State === 'running');
  const monitorMs = config.Monitor / 1e6;
  const delayMs = config.Delay / 1e6;
  const groups = new Map<string, Task[]>();
  for (const t of tasks) {
    if (t.ServiceID !== service.ID) continue;
    const k = slotKey(service, t);
    if (k === undefined) continue;
    (groups.get(k) ?? groups.set(k, []).get(k)!).push(t);
  }
  const slots: SlotProgress[] = [];
  const failures: UpdateFailure[] = [];
  for (const [key, ts] of groups) {
    const old = ts.filter((t) => wantsToRun(t.DesiredState) && !isTerminal(t.Status.State) && isTaskDirty(service, t));
    const fresh = ts.filter((t) => ms(t.CreatedAt) >= startedAt && !isTaskDirty(service, t));
    if (old.length === 0 && fresh.length === 0) continue;
    let reachedAt: number | undefined;
    for (const t of fresh) {
      const ended = isTerminal(t.Status.State);
      if (!ended && !isUp(t)) continue;
      const at = ended ? ms(t.Status.Timestamp) : (o.upSince?.get(t.ID) ?? ms(t.Status.Timestamp));
      reachedAt = reachedAt === undefined ? at : Math.min(reachedAt, at);
      if (ended && FAILED.has(t.Status.State)) {
        // A task not seen running (or not by this leader) counts, as SwarmKit counts a
        // replacement that never reached running; one seen running counts within Monitor.
        const since = o.upSince?.get(t.ID);
        if (since === undefined || at - since <= monitorMs) failures.push({ task: t, at });
      }
    }
    const liveFresh = fresh.filter((t) => wantsToRun(t.DesiredState) && !isTerminal(t.Status.State));
    let phase: SlotPhase;
    if (liveFresh.length > 0 && reachedAt === undefined) phase = 'starting';
    else if (old.length > 0 && liveFresh.some(isUp)) phase = 'retiring';
    else if (old.length > 0 && liveFresh.length === 0) phase = 'waiting';
    else if (old.length > 0) phase = 'starting'; // a restart of the replacement is pending
    else if (reachedAt !== undefined && o.now < reachedAt + delayMs) phase = 'cooling';
    else phase = 'done';
    const first = ts[0];
    slots.push({
      key,
      slot: first.Slot ?? 0,
      ...(modeKind(service.Spec.Mode) === 'global' ? { nodeId: key } : {}),
      phase,
      old,
      fresh,
      ...(reachedAt !== undefined ? { reachedAt } : {}),
      attempted: fresh.length > 0,
    });
  }
  slots.sort(byKey);
  failures.sort((a, b) => a.at - b.at || (a.task.ID < b.task.ID ? -1 : 1));
  return { service, rollback, config, startedAt, slots, failures };
}

/**
 * The tasks the orchestrators should see while an update runs: an out-of-date task is
 * left out when its slot already has a wanted, unfinished up-to-date task (a start-first
 * replacement), so the orchestrator does not stop the replacement as a duplicate; the
 * updater stops the old task once the new one is up (SwarmKit leaves such slots to its
 * updater the same way).
 */
export function tasksForOrchestrator(service: Service, tasks: readonly Task[]): Task[] {
  const replaced = new Set<string>();
  for (const t of tasks) {
    const k = slotKey(service, t);
    if (k !== undefined && wantsToRun(t.DesiredState) && !isTerminal(t.Status.State) && !isTaskDirty(service, t)) replaced.add(k);
  }
  if (replaced.size === 0) return [...tasks];
  return tasks.filter((t) => {
    const k = slotKey(service, t);
    return k === undefined || !replaced.has(k) || !isTaskDirty(service, t) || !wantsToRun(t.DesiredState);
  });
}
