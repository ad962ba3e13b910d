/**
 * Synchronous checks the API runs BEFORE writing a network or a service, so a bad request
 * gets a clear error at once instead of an object the allocator can never allocate.
 * Pure: they read the objects passed in and change nothing. The allocator itself stays
 * the authority (two racing requests can both pass a check); these are Docker's early
 * refusals.
 */
import { ConflictError, InvalidArgumentError } from '../../api/errors.ts';
import type { Network, NetworkSpec } from '../../api/types/network.ts';
import type { EndpointSpec, PortConfig, Service } from '../../api/types/service.ts';
import type { Cluster } from '../../store/index.ts';
import { allocateNetwork, createIpamState, type IpamState } from '../../../net/ipam/index.ts';
import { toApiError } from './errors.ts';
import { isOverlay, parseNetworkSpec, poolsOf, recordOf } from './network-spec.ts';

/**
 * Checks that a new network `spec` can be allocated next to `existingNetworks`: its
 * subnet parses (no host bits, /30 or larger) and overlaps no other network (allocated,
 * or asked for by one not yet allocated), its gateway and ip-range lie inside it, its
 * VXLAN ID (`com.docker.network.driver.overlay.vxlanid_list`) is free and valid, its MTU
 * option is valid, and it is not a second ingress network. Without a subnet, checks a
 * subnet is left in the cluster's default pools.
 *
 * Throws an `ApiError`: `InvalidArgumentError` (400) for a bad value, `ConflictError`
 * (409) for an overlap, a taken VXLAN ID or a second ingress network, status 503 when
 * the pools are exhausted.
 */
export function checkNetworkRequest(
  existingNetworks: readonly Network[],
  spec: NetworkSpec,
  cluster?: Pick<Cluster, 'DefaultAddrPool' | 'SubnetSize'>,
): void {
  if (spec.Ingress) {
    const other = existingNetworks.find((n) => n.Spec.Ingress);
    if (other) throw new ConflictError(`ingress network (${other.ID}) is already present`);
  }
  if (!isOverlay({ Spec: spec })) return;
  try {
    const { request } = parseNetworkSpec('(new)', spec);
    allocateNetwork(stateOf(existingNetworks, cluster), request);
  } catch (err) {
    throw toApiError(err);
  }
}

/**
 * The IPAM state the existing networks make: allocated ones as allocated, and for those
 * not allocated yet, the subnet and VXLAN ID they ask for (so a request that would
 * collide once they are allocated is refused now).
 */
function stateOf(networks: readonly Network[], cluster?: Pick<Cluster, 'DefaultAddrPool' | 'SubnetSize'>): IpamState {
  let state = createIpamState({ pools: poolsOf(cluster) });
  const pending: Network[] = [];
  for (const n of networks) {
    if (!isOverlay(n)) continue;
    if (n.Allocation) state = { ...state, networks: { ...state.networks, [n.ID]: recordOf({ ...n, Allocation: n.Allocation }) } };
    else pending.push(n);
  }
  for (const n of pending) {
    try {
      const { request } = parseNetworkSpec(n.ID, n.Spec);
      if (request.subnet !== undefined || request.vni !== undefined) state = allocateNetwork(state, request).state;
    } catch {
      // A network that cannot be allocated itself reserves nothing.
    }
  }
  return state;
}

/** Docker's default publish mode and protocol. */
function mode(p: PortConfig): 'ingress' | 'host' {
  return p.PublishMode ?? 'ingress';
}
function keyOf(p: PortConfig): string {
  return `${p.Protocol ?? 'tcp'}/${p.PublishedPort}`;
}

/**
 * Checks the published ports of a service's endpoint spec against every other service
 * (SwarmKit's `checkPortConflicts`): an ingress port conflicts with any ingress or
 * host-mode port of the same number and protocol another service asks for or holds; a
 * host-mode port conflicts with another service's ingress port (host-mode ports of
 * different services may share a number: the scheduler keeps them on different nodes).
 * A port listed twice in the spec, a bad port number or protocol is refused too.
 * `serviceId` is the service being updated (its own ports never conflict), or undefined
 * for a new service.
 *
 * Throws `InvalidArgumentError` (400, as Docker), e.g.
 * `port '8080' is already in use by service 'web' (abc123) as an ingress port`.
 */
export function checkPublishedPorts(
  existingServices: readonly Service[],
  serviceId: string | undefined,
  endpointSpec: EndpointSpec | undefined,
): void {
  const ports = endpointSpec?.Ports ?? [];
  const ingress = new Set<string>();
  const host = new Set<string>();
  for (const p of ports) {
    if (!Number.isInteger(p.TargetPort) || p.TargetPort < 1 || p.TargetPort > 65535) {
      throw new InvalidArgumentError(`invalid target port ${String(p.TargetPort)}: must be 1-65535`);
    }
    if (p.Protocol !== undefined && !['tcp', 'udp', 'sctp'].includes(p.Protocol)) {
      throw new InvalidArgumentError(`invalid protocol "${String(p.Protocol)}": must be tcp, udp or sctp`);
    }
    if (p.PublishMode !== undefined && !['ingress', 'host'].includes(p.PublishMode)) {
      throw new InvalidArgumentError(`invalid publish mode "${String(p.PublishMode)}": must be ingress or host`);
    }
    if (!p.PublishedPort) continue;
    if (!Number.isInteger(p.PublishedPort) || p.PublishedPort < 1 || p.PublishedPort > 65535) {
      throw new InvalidArgumentError(`invalid published port ${String(p.PublishedPort)}: must be 1-65535`);
    }
    const set = mode(p) === 'ingress' ? ingress : host;
    if (ingress.has(keyOf(p)) || (mode(p) === 'ingress' && host.has(keyOf(p)))) {
      throw new InvalidArgumentError(`duplicate published port ${keyOf(p)} in the service's endpoint spec`);
    }
    set.add(keyOf(p));
  }
  if (ingress.size === 0 && host.size === 0) return;
  const inUse = (p: PortConfig, s: Service): void => {
    if (!p.PublishedPort) return;
    if (mode(p) === 'host') {
      if (ingress.has(keyOf(p))) {
        throw new InvalidArgumentError(`port '${p.PublishedPort}' is already in use by service '${s.Spec.Name}' (${s.ID}) as a host-published port`);
      }
      return;
    }
    if (ingress.has(keyOf(p)) || host.has(keyOf(p))) {
      throw new InvalidArgumentError(`port '${p.PublishedPort}' is already in use by service '${s.Spec.Name}' (${s.ID}) as an ingress port`);
    }
  };
  // The message names how the OTHER service publishes the port (SwarmKit's wording).
  for (const s of existingServices) {
    if (serviceId !== undefined && s.ID === serviceId) continue;
    for (const p of s.Spec.EndpointSpec?.Ports ?? []) inUse(p, s);
    for (const p of s.Endpoint?.Ports ?? []) inUse(p, s);
  }
}
