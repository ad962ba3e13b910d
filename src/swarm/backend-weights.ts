/**
 * Shares of NEW connections per task while a Shoal update strategy needs them (pure; the
 * network view turns them into the VIP and routing-mesh weights of `net/lb`):
 *
 * - canary with `com.shoal.update.canary.weight` = P, holding (update `updating`, not
 *   promoted), both versions in rotation: the canary tasks together get P % of new
 *   connections and the others 100 − P %, whatever their counts (task weights P·old and
 *   (100 − P)·canaries, so the ratio is exact);
 * - blue-green, updating, old tasks still in rotation: the new tasks weigh 0, so nothing
 *   reaches them until the updater stops the old set; in that one commit the old tasks
 *   leave the rotation and the weights go away, and every node switches from one view.
 *
 * Otherwise undefined: plain balancing. Established connections keep their backend
 * (conntrack); only DNS answers of `dnsrr` services ignore weights.
 */
import type { Service } from '../api/types/service.ts';
import type { Task } from '../api/types/task.ts';
import { updatePolicyOrRolling } from '../api/spec/update-policy.ts';
import { isTaskDirty } from '../manager/orchestrator/updater-view.ts';

/** Task ID → weight for the service's tasks in rotation, or undefined for equal shares. */
export function backendWeights(service: Service, inRotation: readonly Task[]): Map<string, number> | undefined {
  const status = service.UpdateStatus;
  if (status?.State !== 'updating') return undefined;
  const policy = updatePolicyOrRolling(service.Spec.Labels);
  if (policy.strategy === 'rolling') return undefined;
  const fresh = inRotation.filter((t) => !isTaskDirty(service, t));
  const old = inRotation.filter((t) => isTaskDirty(service, t));
  if (fresh.length === 0 || old.length === 0) return undefined;
  const out = new Map<string, number>();
  if (policy.strategy === 'blue-green') {
    for (const t of fresh) out.set(t.ID, 0);
    for (const t of old) out.set(t.ID, 1);
    return out;
  }
  const p = policy.canary?.weight;
  if (p === undefined || status.ShoalCanary === 'promoted') return undefined;
  for (const t of fresh) out.set(t.ID, p * old.length);
  for (const t of old) out.set(t.ID, (100 - p) * fresh.length);
  return out;
}
