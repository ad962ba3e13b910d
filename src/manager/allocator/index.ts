/**
 * The leader's network allocator (SwarmKit's): subnets, VXLAN IDs, VIPs, task and node
 * addresses, published ports. Pure logic here; the controller that runs it on the leader
 * is `src/manager/controllers/allocator.ts`.
 *
 * For the API routes, two synchronous checks to call BEFORE writing (they throw an
 * `ApiError` with Docker's status and a clear message, and change nothing):
 *
 *   checkNetworkRequest(tx.list('network'), spec, tx.list('cluster')[0]); // network create
 *   checkPublishedPorts(tx.list('service'), serviceIdOrUndefined, spec.EndpointSpec); // service create/update
 */
export { checkNetworkRequest, checkPublishedPorts } from './checks.ts';
export { toApiError } from './errors.ts';
export { parseNetworkSpec, poolsOf, DEFAULT_ADDR_POOL, DEFAULT_SUBNET_SIZE } from './network-spec.ts';
export { ingressNetworkSpec, checkAddressPools, DEFAULT_INGRESS_SUBNET } from './ingress.ts';
export { allocatePass, NO_INGRESS, type PassResult } from './allocate.ts';
export {
  rebuildState, reconcileState, holdsAddresses, owner, type AllocatorState, type AllocatorInput,
} from './state.ts';
