/**
 * The restart supervisor's policy, as a pure function: given how a task ended and the
 * earlier restarts of its slot (or node, for global services), whether to start a
 * replacement and when. Docker's semantics: condition `none | on-failure | any`
 * (on-failure: anything but a clean exit), `Delay` before the replacement starts,
 * at most `MaxAttempts` restarts (0: unlimited), counted within `Window` when set.
 *
 * Difference from SwarmKit, on purpose: SwarmKit keeps the restart history in memory
 * on the leader and measures the window back from "now", so a new leader forgets it.
 * Here the history is the slot's tasks in the store, and the window is measured back
 * from when the task ended, so the decision is the same on every leader and every pass.
 */
import type { RestartPolicy } from '../../api/types/service.ts';
import type { Task, TaskState } from '../../api/types/task.ts';
import { DEFAULTS } from '../../api/spec/service-spec.ts';

const NS_PER_MS = 1_000_000;

/** The policy with Docker's defaults filled in (condition `any`, or `on-failure` for jobs; delay 5 s). Durations stay in nanoseconds. */
export function effectivePolicy(p: RestartPolicy | undefined, job = false): Required<RestartPolicy> {
  return {
    Condition: p?.Condition ?? (job ? DEFAULTS.jobRestartCondition : DEFAULTS.restartCondition),
    Delay: p?.Delay ?? DEFAULTS.restartDelayNs,
    MaxAttempts: p?.MaxAttempts ?? 0,
    Window: p?.Window ?? 0,
  };
}

/** The restart delay of a task's policy, in milliseconds. */
export function restartDelayMs(p: RestartPolicy | undefined, job = false): number {
  return effectivePolicy(p, job).Delay / NS_PER_MS;
}

export interface RestartInput {
  policy: RestartPolicy | undefined;
  /** The final observed state of the task (`complete`, `failed`, `rejected`, `shutdown`, …). */
  exit: TaskState;
  /** When the task ended, ms since the epoch. */
  endedAt: number;
  /** When each earlier restart of this slot happened (its replacement's creation), ms since the epoch. */
  restarts: readonly number[];
  /** The decision time, ms since the epoch; the replacement may start at `now + delay`. */
  now: number;
  /** Jobs default to `on-failure`. */
  job?: boolean;
}

export type RestartDecision = { restart: true; at: number } | { restart: false; reason: string };

/** Whether and when to restart; see the module comment for the rules. */
export function restartDecision(input: RestartInput): RestartDecision {
  const p = effectivePolicy(input.policy, input.job);
  if (p.Condition === 'none') return { restart: false, reason: 'restart condition is none' };
  if (p.Condition === 'on-failure' && input.exit === 'complete') return { restart: false, reason: 'task completed and restart condition is on-failure' };
  if (p.MaxAttempts > 0) {
    const windowMs = p.Window / NS_PER_MS;
    const counted = windowMs > 0 ? input.restarts.filter((t) => t > input.endedAt - windowMs && t <= input.endedAt).length : input.restarts.length;
    if (counted >= p.MaxAttempts) {
      return { restart: false, reason: `reached ${p.MaxAttempts} restart attempt${p.MaxAttempts === 1 ? '' : 's'}${windowMs > 0 ? ' within the window' : ''}` };
    }
  }
  return { restart: true, at: input.now + p.Delay / NS_PER_MS };
}

/** Milliseconds since the epoch of an RFC 3339 time; 0 when absent or malformed. */
export function ms(time: string | undefined): number {
  const t = time ? Date.parse(time) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/** JSON with sorted keys, so two equal task specs compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The restart history of a slot (or node), for {@link restartDecision}: the creation
 * times of its tasks made from the same spec as `dead`, oldest first, without the first
 * one (the original attempt, not a restart). A new spec starts afresh, as in Docker.
 *
 * "The same spec" is the same spec version or an equal task spec: `SpecVersion` is the
 * service's version when the task was made, and every write of the service moves it
 * (the allocator's endpoint, the updater's status), not only a new spec; counting by it
 * alone started the count over after such a write and allowed more restarts than
 * `MaxAttempts` (SwarmKit's spec version moves only with the spec).
 */
export function restartHistory(slotTasks: readonly Task[], dead: Task): number[] {
  const v = dead.SpecVersion?.Index;
  const spec = canonical(dead.Spec);
  const same = slotTasks.filter((t) => (v !== undefined && t.SpecVersion?.Index === v) || canonical(t.Spec) === spec).map((t) => ms(t.CreatedAt));
  same.sort((a, b) => a - b);
  return same.slice(1);
}
