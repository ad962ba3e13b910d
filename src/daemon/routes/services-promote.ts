/**
 * `POST /services/{id}/promote` (Shoal extension; Docker has no such call): promotes the
 * canary of the service's running update, so the update goes on at once instead of
 * waiting for the end of its monitor window (or, with `com.shoal.update.canary.auto=
 * rollback`, instead of holding for good). The promotion is one store write
 * (`UpdateStatus.ShoalCanary = 'promoted'`): the updater reads it on its next pass, the
 * network views drop the canary's traffic share in the same commit.
 *
 * 404: no such service; 409: the service does not update as a canary, or no update of it
 * is in progress. Promoting twice is a no-op. Answers 200 `{"Promoted": true}`.
 */
import type { Router } from '../../common/router.ts';
import { ConflictError } from '../../api/errors.ts';
import { updatePolicyOrRolling } from '../../api/spec/update-policy.ts';
import { findService, requireManager, type SwarmRef } from './lookup.ts';

/** Adds the promote route. */
export function addServicePromoteRoute(router: Router, swarm: SwarmRef): void {
  router.post('/services/:id/promote', async (ctx) => {
    const manager = requireManager(swarm);
    await manager.store.update((tx) => {
      // Looked up in the transaction: the store confirms a 404 after a read barrier.
      const current = findService(tx, ctx.params.id);
      if (updatePolicyOrRolling(current.Spec.Labels).strategy !== 'canary') {
        throw new ConflictError(`service ${current.Spec.Name} does not update as a canary (label com.shoal.update.strategy=canary)`);
      }
      const status = current.UpdateStatus;
      if (status?.State !== 'updating') throw new ConflictError(`service ${current.Spec.Name} has no update in progress to promote${status ? ` (update ${status.State})` : ''}`);
      if (status.ShoalCanary === 'promoted') return;
      tx.update('service', { ...structuredClone(current), UpdateStatus: { ...status, ShoalCanary: 'promoted' } });
    });
    return { Promoted: true };
  });
}
