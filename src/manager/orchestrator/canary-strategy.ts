/**
 * The canary update strategy (beyond Swarm): the first `replicas` slots are replaced as
 * the canary, then the update holds. Once every canary is up it is watched for `monitor`;
 * then, decided from the canary tasks alone:
 * - failures among them over `maxFailureRatio` (at any time in the hold) → roll back;
 * - a canary that came up but is not up at the end of the window (no longer running,
 *   or no longer healthy where the base strategy gates on health) → roll back;
 * - otherwise, with `auto: promote`, promote: the update goes on as the base (rolling)
 *   strategy with the service's UpdateConfig; with `auto: rollback` it holds until
 *   `POST /services/{id}/promote` marks it promoted.
 *
 * Everything is derived from the store (slot progress, task timestamps,
 * `UpdateStatus.ShoalCanary`), so a new leader resumes the hold where the old one was.
 * Pure; time comes as `now`.
 */
import type { CanaryPolicy } from '../../api/spec/update-policy.ts';
import type { SlotProgress, UpdateView } from './updater-view.ts';
import { rollingStrategy, waitingInOrder, type StrategyVerdict, type UpdateStrategy } from './updater-strategy.ts';
import { wantsToRun } from '../../common/task-state.ts';
import { isTerminal } from '../../api/types/task.ts';
import { ms } from './restart-policy.ts';

/** Whether the service's running update has its canary promoted. */
export function isPromoted(view: UpdateView): boolean {
  return view.service.UpdateStatus?.ShoalCanary === 'promoted';
}

/** The canary slots of an unpromoted update: those the update already replaced (or is replacing). */
export function canarySlots(view: UpdateView): SlotProgress[] {
  return view.slots.filter((s) => s.attempted);
}

/** How many canaries the update has: the policy's count, at most the slots taking part. */
function wanted(view: UpdateView, policy: CanaryPolicy): number {
  return Math.min(policy.replicas, view.slots.length);
}

/**
 * When the canary hold ends (ms): the moment the last canary came up, plus the monitor
 * window; undefined until every canary has come up once. A canary that never comes up is
 * not judged by time (an image pull or a health start period may take long): it either
 * comes up, or fails (a failing health check fails its task) and counts as a failure.
 */
export function holdEndsAt(view: UpdateView, policy: CanaryPolicy): number | undefined {
  const canaries = canarySlots(view);
  if (canaries.length < wanted(view, policy)) return undefined;
  let last = -Infinity;
  for (const s of canaries) {
    // A task reported running came up once (a health-checked task is reported running
    // only once healthy), even if it is not up any more.
    const wasUp = s.fresh.filter((t) => t.Status.State === 'running').map((t) => ms(t.Status.Timestamp));
    const since = s.reachedAt ?? (wasUp.length ? Math.min(...wasUp) : undefined);
    if (since === undefined) return undefined;
    last = Math.max(last, since);
  }
  return last + policy.monitorMs;
}

/** The canary strategy over `base` (its `isUp` decides what "up" is, its `pick` runs after promotion). */
export function canaryStrategy(policy: CanaryPolicy, base: UpdateStrategy = rollingStrategy): UpdateStrategy {
  const isUp = (t: Parameters<UpdateStrategy['isUp']>[0]) => base.isUp(t);
  return {
    name: 'canary',
    isUp,
    pick(view, now) {
      if (isPromoted(view)) return base.pick(view, now);
      const missing = wanted(view, policy) - canarySlots(view).length;
      return missing > 0 ? waitingInOrder(view).slice(0, missing) : [];
    },
    mayRetire: (slot, view, now) => base.mayRetire(slot, view, now),
    completeAt(view) {
      const at = base.completeAt(view);
      if (isPromoted(view)) return at;
      return Math.max(at, holdEndsAt(view, policy) ?? at);
    },
    verdict(view, now): StrategyVerdict | undefined {
      if (isPromoted(view)) return undefined;
      const failures = view.failures;
      const n = Math.max(1, wanted(view, policy));
      for (let k = 1; k <= failures.length; k++) {
        if (k / n > policy.maxFailureRatio) {
          return { kind: 'rollback', message: `update rolled back due to failure or early termination of task ${failures[k - 1].task.ID}` };
        }
      }
      const end = holdEndsAt(view, policy);
      if (end === undefined || now < end) return { kind: 'hold' };
      for (const s of canarySlots(view)) {
        const live = s.fresh.filter((t) => wantsToRun(t.DesiredState) && !isTerminal(t.Status.State));
        if (!live.some(isUp)) {
          const t = live[0] ?? s.fresh[s.fresh.length - 1];
          return { kind: 'rollback', message: `update rolled back: canary task ${t?.ID ?? `of slot ${s.key}`} was not up at the end of its monitor window` };
        }
      }
      return policy.auto === 'promote' ? { kind: 'promote' } : { kind: 'hold' };
    },
    wakeAt(view, now) {
      if (isPromoted(view)) return undefined;
      const end = holdEndsAt(view, policy);
      return end !== undefined && now < end ? end : undefined;
    },
  };
}
