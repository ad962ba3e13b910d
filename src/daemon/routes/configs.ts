/**
 * `/configs…` of the control API: the routes of `secrets.ts` for configs (Docker's
 * shapes; a config's Data is returned by inspect and list, as Docker does).
 */
import type { Router } from '../../common/router.ts';
import { addPayloadRoutes } from './secrets.ts';
import type { SwarmRef } from './lookup.ts';

/** `/configs…` of the control API. */
export function addConfigRoutes(router: Router, swarm: SwarmRef): void {
  addPayloadRoutes(router, swarm, 'config');
}
