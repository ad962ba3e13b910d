/**
 * The `ingress` network `swarm init` creates (Docker's): the routing mesh's network.
 * With Docker's default address pool it takes 10.0.0.0/24, as Docker's does, so user
 * networks start at 10.0.1.0/24; with a custom pool it is carved from that pool.
 */
import { InvalidArgumentError } from '../../api/errors.ts';
import type { NetworkSpec } from '../../api/types/network.ts';
import { createIpamState, IpamError } from '../../../net/ipam/index.ts';
import { DEFAULT_ADDR_POOL } from './network-spec.ts';

/** Docker's ingress subnet when the default pool is Docker's. */
export const DEFAULT_INGRESS_SUBNET = '10.0.0.0/24';

/** The spec of the ingress network for a swarm with these default pools. */
export function ingressNetworkSpec(defaultAddrPool: readonly string[] = DEFAULT_ADDR_POOL): NetworkSpec {
  const dockerDefault = defaultAddrPool.length === DEFAULT_ADDR_POOL.length && defaultAddrPool.every((p, i) => p === DEFAULT_ADDR_POOL[i]);
  return {
    Name: 'ingress',
    Labels: {},
    Driver: 'overlay',
    Options: {},
    IPAM: { Driver: 'default', Config: dockerDefault ? [{ Subnet: DEFAULT_INGRESS_SUBNET }] : [] },
    Attachable: false,
    Ingress: true,
    Internal: false,
    EnableIPv6: false,
    Scope: 'swarm',
  };
}

/**
 * Checks `swarm init`'s `DefaultAddrPool` and `SubnetSize` as IPAM will use them
 * (`A.B.C.D/N` with no host bits, N ≤ size ≤ 30). Throws `InvalidArgumentError` (400).
 */
export function checkAddressPools(defaultAddrPool: readonly string[], subnetSize: number): void {
  try {
    createIpamState({ pools: defaultAddrPool.map((subnet) => ({ subnet, size: subnetSize })) });
  } catch (err) {
    if (err instanceof IpamError) throw new InvalidArgumentError(`invalid default address pool: ${err.message.replace(/^ipam: /, '')}`, { cause: err });
    throw err;
  }
}
