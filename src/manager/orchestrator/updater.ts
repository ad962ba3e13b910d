/**
 * The updater's decision (SwarmKit's rolling update and rollback, level-triggered):
 * given a service and its tasks, which out-of-date slots to replace now, which old tasks
 * to stop, what to write to `UpdateStatus`, and when to look again. Progress is never
 * kept in memory: a slot is done when its wanted task matches the current spec, so a new
 * leader calling this on the same store resumes where the old one stopped and never
 * replaces a slot twice.
 *
 *   const plan = planUpdate(service, tasksOfService, { now, newId });
 *   // create plan.create, write plan.update, write plan.service when set; wake at plan.wakeAt
 *
 * States and messages are Docker's: `updating` "update in progress" → `completed`
 * "update completed"; on failure `paused` "update paused due to failure or early
 * termination of task X", or `rollback_started` "update rolled back due to failure or
 * early termination of task X" (Spec ← PreviousSpec) → `rollback_completed` "rollback
 * completed" (a failing rollback pauses as `rollback_paused`). A paused update stays
 * paused until the service is updated again (the API clears UpdateStatus).
 */
import type { Service, UpdateStatus } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { isJob, modeKind } from '../../api/spec/service-spec.ts';
import { newTask } from './new-task.ts';
import { ms } from './restart-policy.ts';
import { withDesiredState } from '../../common/task-state.ts';
import { rollingStrategy, type StrategyVerdict, type UpdateStrategy } from './updater-strategy.ts';
import { strategyFor } from './update-strategies.ts';
import { viewUpdate, type UpdateFailure, type UpdateView } from './updater-view.ts';

export { isTaskDirty, tasksForOrchestrator, viewUpdate, stableJson, type UpdateView, type SlotProgress, type SlotPhase } from './updater-view.ts';
export { rollingStrategy, freePlaces, waitingInOrder, type UpdateStrategy } from './updater-strategy.ts';

/** Docker's UpdateStatus messages (SwarmKit's wording). */
export const UPDATE_MESSAGES = {
  updating: 'update in progress',
  completed: 'update completed',
  rollbackCompleted: 'rollback completed',
  manualRollback: 'manually requested rollback',
  paused: (task: string) => `update paused due to failure or early termination of task ${task}`,
  rollbackPaused: (task: string) => `rollback paused due to failure or early termination of task ${task}`,
  rolledBack: (task: string) => `update rolled back due to failure or early termination of task ${task}`,
} as const;

export interface UpdateContext {
  /** The current time, ms since the epoch. */
  now: number;
  /** Returns a fresh, unique task ID. */
  newId: () => string;
  /** When the controller saw each task come up (ms); optional, lost on a leader change. */
  upSince?: ReadonlyMap<string, number>;
  /** The base policy; default {@link rollingStrategy}. A service's `com.shoal.update.strategy` label builds canary or blue-green over it. */
  strategy?: UpdateStrategy;
}

/** The intended changes of one pass. Applying them and planning again with the same inputs changes nothing. */
export interface UpdatePlan {
  /** Replacement tasks (state `new`). */
  create: Task[];
  /** Old tasks with desired state `shutdown`. */
  update: Task[];
  /** The service with a new UpdateStatus (and, on an automatic rollback, its previous spec), to be written. */
  service?: Service;
  /** Plan again at this time (ms): a `Delay` or the `Monitor` window ends. */
  wakeAt?: number;
  /** What happened, for the log: `started`, `paused`, `rollback`, `completed`. */
  event?: 'started' | 'paused' | 'rollback' | 'completed' | 'promoted';
}

const ACTIVE = new Set(['waiting', 'starting', 'retiring']);

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function withStatus(service: Service, status: UpdateStatus): Service {
  return { ...structuredClone(service), UpdateStatus: status };
}

/**
 * The failure that takes the failure ratio over `MaxFailureRatio`, if any: with `n`
 * slots in the update, the k-th failure where k / n > ratio.
 */
export function failureOverRatio(view: UpdateView): UpdateFailure | undefined {
  const n = view.slots.length;
  if (n === 0) return undefined;
  const ratio = view.config.MaxFailureRatio;
  for (let k = 1; k <= view.failures.length; k++) {
    if (k / n > ratio) return view.failures[k - 1];
  }
  return undefined;
}

/** What the failure action makes of the service (pause, or roll back to PreviousSpec). */
function onFailure(view: UpdateView, failure: UpdateFailure): UpdatePlan {
  const s = view.service;
  const base = s.UpdateStatus!;
  const id = failure.task.ID;
  if (view.rollback) {
    return { create: [], update: [], event: 'paused', service: withStatus(s, { ...base, State: 'rollback_paused', Message: UPDATE_MESSAGES.rollbackPaused(id) }) };
  }
  if (view.config.FailureAction === 'rollback' && s.PreviousSpec) {
    const next = withStatus(s, { ...base, State: 'rollback_started', Message: UPDATE_MESSAGES.rolledBack(id) });
    next.Spec = structuredClone(s.PreviousSpec);
    delete next.PreviousSpec;
    return { create: [], update: [], event: 'rollback', service: next };
  }
  return { create: [], update: [], event: 'paused', service: withStatus(s, { ...base, State: 'paused', Message: UPDATE_MESSAGES.paused(id) }) };
}

/** A strategy's rollback (a canary that failed): Docker's automatic rollback path, pausing when there is no previous spec. */
function onStrategyRollback(view: UpdateView, verdict: Extract<StrategyVerdict, { kind: 'rollback' }>): UpdatePlan {
  const s = view.service;
  const { ShoalCanary: _, ...base } = s.UpdateStatus!;
  if (!s.PreviousSpec) return { create: [], update: [], event: 'paused', service: withStatus(s, { ...base, State: 'paused', Message: verdict.message.replace('rolled back', 'paused') }) };
  const next = withStatus(s, { ...base, State: 'rollback_started', Message: verdict.message });
  next.Spec = structuredClone(s.PreviousSpec);
  delete next.PreviousSpec;
  return { create: [], update: [], event: 'rollback', service: next };
}

/**
 * Plans the next step of the service's update. `tasks` are the service's tasks. Jobs
 * never update this way (a new spec is a new job iteration); a paused update does
 * nothing until the API clears its status.
 */
export function planUpdate(service: Service, tasks: readonly Task[], ctx: UpdateContext): UpdatePlan {
  const out: UpdatePlan = { create: [], update: [] };
  if (isJob(modeKind(service.Spec.Mode))) return out;
  const strategy = strategyFor(service, ctx.strategy ?? rollingStrategy);
  let status = service.UpdateStatus;
  if (status?.State === 'paused' || status?.State === 'rollback_paused') return out;
  const running = status?.State === 'updating' || status?.State === 'rollback_started';
  const startedAt = running && status?.StartedAt ? ms(status.StartedAt) : ctx.now;
  const view = viewUpdate(service, tasks, { now: ctx.now, startedAt, isUp: (t) => strategy.isUp(t), ...(ctx.upSince ? { upSince: ctx.upSince } : {}) });
  const active = view.slots.some((s) => ACTIVE.has(s.phase));
  let holding = false;

  if (!running) {
    // A new update starts when something is out of date (also after a completed one).
    if (!view.slots.some((s) => s.phase === 'waiting')) return out;
    status = { State: 'updating', StartedAt: iso(ctx.now), Message: UPDATE_MESSAGES.updating };
    out.service = withStatus(service, status);
    out.event = 'started';
  } else {
    const verdict = strategy.verdict?.(view, ctx.now);
    if (verdict?.kind === 'rollback') return onStrategyRollback(view, verdict);
    if (verdict?.kind === 'promote') {
      return { ...out, event: 'promoted', service: withStatus(service, { ...status!, ShoalCanary: 'promoted' }) };
    }
    holding = verdict?.kind === 'hold';
    if (!holding && view.config.FailureAction !== 'continue') {
      const failure = failureOverRatio(view);
      if (failure) return onFailure(view, failure);
    }
  }
  const strategyWake = strategy.wakeAt?.(view, ctx.now);

  if (!active && holding) {
    // The strategy holds the update open (a canary waiting for its window or a promotion).
    if (strategyWake !== undefined) out.wakeAt = strategyWake;
    return out;
  }
  if (!active) {
    const at = strategy.completeAt(view);
    if (ctx.now < at) {
      out.wakeAt = at;
      return out;
    }
    const rolledBack = status!.State === 'rollback_started';
    out.service = withStatus(service, {
      ...status!,
      State: rolledBack ? 'rollback_completed' : 'completed',
      CompletedAt: iso(ctx.now),
      Message: rolledBack ? UPDATE_MESSAGES.rollbackCompleted : UPDATE_MESSAGES.completed,
    });
    out.event = 'completed';
    return out;
  }

  for (const slot of view.slots) {
    if (slot.phase !== 'retiring' || !strategy.mayRetire(slot, view, ctx.now)) continue;
    for (const t of slot.old) out.update.push(withDesiredState(t, 'shutdown'));
  }
  const stopFirst = view.config.Order !== 'start-first' && !strategy.startFirst;
  for (const slot of strategy.pick(view, ctx.now)) {
    if (stopFirst) for (const t of slot.old) out.update.push(withDesiredState(t, 'shutdown'));
    out.create.push(newTask(service, slot.nodeId ? { nodeId: slot.nodeId } : { slot: slot.slot }, ctx));
  }
  // Wake when a cooling slot frees its place (the Delay after it ends).
  const delayMs = view.config.Delay / 1e6;
  for (const s of view.slots) {
    if (s.phase !== 'cooling' || s.reachedAt === undefined) continue;
    const at = s.reachedAt + delayMs;
    out.wakeAt = out.wakeAt === undefined ? at : Math.min(out.wakeAt, at);
  }
  if (strategyWake !== undefined) out.wakeAt = out.wakeAt === undefined ? strategyWake : Math.min(out.wakeAt, strategyWake);
  return out;
}

/**
 * The service after a manual rollback (`rollback=previous`, `docker service rollback`):
 * Spec and PreviousSpec swap, and UpdateStatus says `rollback_started` "manually
 * requested rollback". Returns undefined when there is no previous spec.
 */
export function manualRollback(service: Service, now: number): Service | undefined {
  if (!service.PreviousSpec) return undefined;
  const next = structuredClone(service);
  next.Spec = structuredClone(service.PreviousSpec);
  next.PreviousSpec = structuredClone(service.Spec);
  next.UpdateStatus = { State: 'rollback_started', StartedAt: iso(now), Message: UPDATE_MESSAGES.manualRollback };
  return next;
}
