/** Swarm-scoped networks (`/networks`), in Docker's shape. */
export interface IPAMConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

export interface NetworkSpec {
  Name: string;
  Labels: Record<string, string>;
  Driver: string;
  Options: Record<string, string>;
  IPAM: { Driver: string; Config: IPAMConfig[]; Options?: Record<string, string> };
  Attachable: boolean;
  Ingress: boolean;
  Internal: boolean;
  EnableIPv6: boolean;
  Scope: 'swarm' | 'local';
}

/** The network as the store keeps it; the API renders Docker's NetworkResource from it. */
export interface Network {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: NetworkSpec;
  /** What the allocator gave it; absent until the leader's allocator has run. */
  Allocation?: NetworkAllocation;
}

/** A network's allocation (written by the leader's allocator only). */
export interface NetworkAllocation {
  /** `A.B.C.D/N`. */
  Subnet: string;
  /** Address only, inside Subnet. */
  Gateway: string;
  /** Where VIPs and task addresses come from (`--ip-range`; the subnet by default). */
  IPRange: string;
  /** VXLAN network identifier, unique in the swarm. */
  VNI: number;
  /** MTU of every interface on this network (underlay MTU − 50 by default). */
  MTU: number;
}

/** The Docker option naming a network's VXLAN ID(s). */
export const VXLAN_ID_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';
/** The Docker option setting a network's MTU. */
export const MTU_OPTION = 'com.docker.network.driver.mtu';
/** MTU of overlay interfaces when not set: a 1500-byte underlay minus VXLAN's 50 bytes. */
export const DEFAULT_OVERLAY_MTU = 1450;

/**
 * One endpoint on a network: a task's (`Task.NetworksAttachments`) or a node's own
 * ingress endpoint (`Node.Attachments`, the routing mesh's source address).
 */
export interface NetworkAttachment {
  Network: { ID: string; Spec: Pick<NetworkSpec, 'Name'> & Partial<NetworkSpec>; Allocation?: NetworkAllocation };
  /** `A.B.C.D/N`, one per address family (IPv4 only here). */
  Addresses: string[];
  /** Extra DNS names of the service on this network (`--network name=N,alias=A`). */
  Aliases?: string[];
}
