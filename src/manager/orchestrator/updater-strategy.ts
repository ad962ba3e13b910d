/**
 * Update strategies: the policy part of the updater, as small pluggable units
 * (STYLE rule 10). The updater derives an {@link UpdateView} from the store at every
 * pass and asks its strategy three things: which waiting slots to start replacing now,
 * whether a replacement that is up may retire the old task of its slot, and when an
 * update with nothing left to replace may be declared complete. Everything else (task
 * creation, failure accounting, UpdateStatus) is the updater's and the same for every
 * strategy.
 *
 * `rolling` is Docker's rolling update. A canary strategy would pick the first batch,
 * then hold (pick nothing) until its window ends; blue-green would pick every slot at
 * once start-first and retire no old task until every replacement is up. `isUp` is
 * health-gated for every strategy here ({@link isHealthyRunning}).
 */
import type { Task } from '../../api/types/task.ts';
import type { SlotProgress, UpdateView } from './updater-view.ts';

/** A policy of the updater. Pure: no I/O, time comes as `now` (ms). */
export interface UpdateStrategy {
  readonly name: string;
  /** Whether a replacement task counts as up (it may retire the old task, the slot may move on). */
  isUp(task: Task): boolean;
  /** The `waiting` slots of `view` to start replacing now, in order. */
  pick(view: UpdateView, now: number): SlotProgress[];
  /** Whether the old tasks of a `retiring` slot (its replacement is up) may be stopped now. */
  mayRetire(slot: SlotProgress, view: UpdateView, now: number): boolean;
  /**
   * When (ms) an update with no slot left waiting, starting or retiring is complete: after
   * the last replacement came up, its `Delay` and the `Monitor` window in which a failure
   * still counts.
   */
  completeAt(view: UpdateView): number;
  /** Optional: start every replacement before its old task stops, whatever `Order` says (blue-green). */
  readonly startFirst?: boolean;
  /**
   * Optional: the strategy's own judgement of the running update at `now`, asked before
   * the updater's failure check: roll back (with Docker's rollback path), promote (the
   * updater records it in `UpdateStatus.ShoalCanary`), or hold (the strategy judges
   * failures itself and the update neither fails nor completes by the common rules).
   */
  verdict?(view: UpdateView, now: number): StrategyVerdict | undefined;
  /** Optional: when the strategy wants to be asked again (ms), e.g. at the end of its own window. */
  wakeAt?(view: UpdateView, now: number): number | undefined;
}

/** What {@link UpdateStrategy.verdict} decides. */
export type StrategyVerdict =
  | { kind: 'rollback'; message: string }
  | { kind: 'promote' }
  | { kind: 'hold' };

/**
 * Whether a task is up for the updater: running, and healthy when its container has a
 * health check (`Status.Health`, reported by its node; absent: no check). A task with a
 * check is reported `running` only once healthy (Docker's rule), and one found unhealthy
 * later is not up even while it still runs.
 */
export function isHealthyRunning(t: Task): boolean {
  return t.Status.State === 'running' && (t.Status.Health === undefined || t.Status.Health.Status === 'healthy');
}

/** Phases in which a slot occupies one of the `Parallelism` places. */
const BUSY = new Set(['starting', 'retiring', 'cooling']);

/** How many slots may start now: `Parallelism` (0 = all) minus those in flight or cooling down. */
export function freePlaces(view: UpdateView): number {
  const p = view.config.Parallelism;
  if (!p) return Infinity;
  return Math.max(0, p - view.slots.filter((s) => BUSY.has(s.phase)).length);
}

/** Waiting slots in the order they are replaced: never tried first, then by slot (or node). */
export function waitingInOrder(view: UpdateView): SlotProgress[] {
  return view.slots.filter((s) => s.phase === 'waiting').sort((a, b) => Number(a.attempted) - Number(b.attempted));
}

/** The latest time a replacement came up or ended, or the update's start. */
export function lastReached(view: UpdateView): number {
  let at = view.startedAt;
  for (const s of view.slots) if (s.reachedAt !== undefined) at = Math.max(at, s.reachedAt);
  return at;
}

/**
 * Docker's rolling update: `Parallelism` slots at a time, each waiting for its replacement
 * to come up, then `Delay` before its place takes the next slot; `Monitor` after the last.
 */
export const rollingStrategy: UpdateStrategy = {
  name: 'rolling',
  isUp: isHealthyRunning,
  pick(view) {
    const n = freePlaces(view);
    return waitingInOrder(view).slice(0, n === Infinity ? undefined : n);
  },
  mayRetire: () => true,
  completeAt(view) {
    return lastReached(view) + view.config.Delay / 1e6 + view.config.Monitor / 1e6;
  },
};
