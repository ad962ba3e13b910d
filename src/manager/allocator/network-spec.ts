/**
 * What a stored network asks of IPAM, read from its Docker-shaped spec: subnet, gateway
 * and range from `Spec.IPAM.Config[0]`, the VXLAN ID and MTU from `Spec.Options`; and
 * the default pools from the cluster. Pure; a bad value is an `InvalidArgumentError`.
 */
import { InvalidArgumentError } from '../../api/errors.ts';
import {
  DEFAULT_OVERLAY_MTU, MTU_OPTION, VXLAN_ID_OPTION, type Network, type NetworkAllocation, type NetworkSpec,
} from '../../api/types/network.ts';
import type { Cluster } from '../../store/index.ts';
import { DEFAULT_POOLS, GATEWAY_OWNER, ipVersion, type IpamPool, type NetworkIpam, type NetworkRequest } from '../../../net/ipam/index.ts';

/** The only network driver Shoal allocates for. */
export const OVERLAY_DRIVER = 'overlay';

/** Docker's default address pool and subnet size when the cluster names none. */
export const DEFAULT_ADDR_POOL = ['10.0.0.0/8'];
export const DEFAULT_SUBNET_SIZE = 24;

/** An IPAM request plus the MTU, read from a network's spec. */
export interface ParsedNetworkSpec {
  request: NetworkRequest;
  mtu: number;
}

/** Reads a network's IPAM request and MTU from its spec; throws `InvalidArgumentError` for a bad option. */
export function parseNetworkSpec(id: string, spec: NetworkSpec): ParsedNetworkSpec {
  const configs = spec.IPAM?.Config ?? [];
  const v4 = configs.filter((c) => c.Subnet === undefined || ipVersion(c.Subnet) !== 6);
  if (v4.length < configs.length) throw new InvalidArgumentError(`network "${spec.Name}": IPv6 subnets are not supported`);
  if (v4.length > 1) throw new InvalidArgumentError(`network "${spec.Name}": only one IPv4 IPAM config is supported, got ${v4.length}`);
  const c = v4[0] ?? {};
  const request: NetworkRequest = {
    id,
    name: spec.Name,
    ...(c.Subnet ? { subnet: c.Subnet } : {}),
    ...(c.Gateway ? { gateway: c.Gateway } : {}),
    ...(c.IPRange ? { ipRange: c.IPRange } : {}),
    ...(vniOption(spec) !== undefined ? { vni: vniOption(spec) } : {}),
  };
  return { request, mtu: mtuOption(spec) };
}

/** The VXLAN ID the spec asks for (the first of Docker's comma-separated list), if any. */
function vniOption(spec: NetworkSpec): number | undefined {
  const raw = spec.Options?.[VXLAN_ID_OPTION];
  if (raw === undefined || raw === '') return undefined;
  const first = raw.split(',')[0]!.trim();
  const vni = /^\d+$/.test(first) ? Number(first) : NaN;
  if (!Number.isInteger(vni) || vni < 1 || vni > 0xffffff) {
    throw new InvalidArgumentError(`invalid ${VXLAN_ID_OPTION} "${raw}": want a VXLAN ID in 1-16777215`);
  }
  return vni;
}

/** The MTU the spec asks for, else `DEFAULT_OVERLAY_MTU`. */
function mtuOption(spec: NetworkSpec): number {
  const raw = spec.Options?.[MTU_OPTION];
  if (raw === undefined || raw === '') return DEFAULT_OVERLAY_MTU;
  const mtu = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  // 68 is IPv4's minimum MTU; an overlay frame must still fit a jumbo underlay.
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new InvalidArgumentError(`invalid ${MTU_OPTION} "${raw}": want an MTU in 68-65535`);
  return mtu;
}

/** The default pools of the cluster (`DefaultAddrPool` carved in `SubnetSize` subnets), or Docker's. */
export function poolsOf(cluster: Pick<Cluster, 'DefaultAddrPool' | 'SubnetSize'> | undefined): IpamPool[] {
  const subnets = cluster?.DefaultAddrPool?.length ? cluster.DefaultAddrPool : undefined;
  if (!subnets) return DEFAULT_POOLS.map((p) => ({ ...p }));
  const size = cluster?.SubnetSize || DEFAULT_SUBNET_SIZE;
  return subnets.map((subnet) => ({ subnet, size }));
}

/** The stored `Allocation` of a network IPAM allocated. */
export function allocationOf(rec: NetworkIpam, mtu: number): NetworkAllocation {
  return { Subnet: rec.subnet, Gateway: rec.gateway, IPRange: rec.ipRange, VNI: rec.vni, MTU: mtu };
}

/** Whether the allocator handles this network (overlay driver; an empty driver means overlay in swarm scope). */
export function isOverlay(n: Pick<Network, 'Spec'>): boolean {
  return !n.Spec.Driver || n.Spec.Driver === OVERLAY_DRIVER;
}

/** The IPAM record of a network that already has an `Allocation` (rebuilding state from the store). */
export function recordOf(n: Pick<Network, 'ID' | 'Spec'> & { Allocation: NetworkAllocation }): NetworkIpam {
  const a = n.Allocation;
  return {
    id: n.ID, name: n.Spec.Name, subnet: a.Subnet, gateway: a.Gateway, ipRange: a.IPRange || a.Subnet, vni: a.VNI,
    addresses: { [a.Gateway]: GATEWAY_OWNER }, cursor: '',
  };
}
