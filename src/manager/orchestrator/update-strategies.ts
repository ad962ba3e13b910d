/**
 * Which update strategy a service's update follows: its `com.shoal.update.strategy`
 * label (see `src/api/spec/update-policy.ts`) over the base (rolling) strategy. A
 * rollback, automatic or manual, always follows the base strategy with the
 * RollbackConfig, as Docker's does.
 */
import type { Service } from '../../api/types/service.ts';
import { updatePolicyOrRolling } from '../../api/spec/update-policy.ts';
import { blueGreenStrategy } from './bluegreen-strategy.ts';
import { canaryStrategy } from './canary-strategy.ts';
import { rollingStrategy, type UpdateStrategy } from './updater-strategy.ts';

/** Whether the service is rolling back (its update state says so). */
function rollingBack(service: Service): boolean {
  const s = service.UpdateStatus?.State;
  return s === 'rollback_started' || s === 'rollback_paused';
}

/** The strategy of the service's current update, built over `base`. Pure. */
export function strategyFor(service: Service, base: UpdateStrategy = rollingStrategy): UpdateStrategy {
  if (rollingBack(service)) return base;
  const policy = updatePolicyOrRolling(service.Spec.Labels);
  if (policy.strategy === 'canary' && policy.canary) return canaryStrategy(policy.canary, base);
  if (policy.strategy === 'blue-green') return blueGreenStrategy(base);
  return base;
}
