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
  /** The VXLAN network identifier the allocator gave it. */
  VNI?: number;
}
