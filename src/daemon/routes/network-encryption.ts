/**
 * What `network inspect` adds for an encrypted overlay (`--opt encrypted`), a Shoal
 * field beside Docker's `Options.encrypted`: how the traffic is encrypted, which
 * implementation each node on the network uses (`kernel` WireGuard or userspace
 * `wireguard-go`; `none` for a node that stated no key, which the network leaves out),
 * and this node's own tunnel as its data plane sees it.
 */
import type { Network } from '../../api/types/network.ts';
import type { ReadTx } from '../../store/index.ts';

/** This node's tunnel, as the data plane reports it. */
export interface LocalTunnel {
  interface: string;
  path: string | undefined;
  address: string | undefined;
  keyGeneration: number | undefined;
  peers: number;
}

/** The `ShoalEncryption` field. */
export interface NetworkEncryption {
  Method: 'wireguard';
  /** Each node with an endpoint on the network (by hostname) and its implementation. */
  Nodes: { Name: string; Path: 'kernel' | 'wireguard-go' | 'none' }[];
  /** This node's tunnel while it is up. */
  Local?: { Interface: string; Path: string; Address: string; KeyGeneration: number; Peers: number };
}

/** The field for `n` (undefined for a plain network); `peers` as `Peers` lists them. */
export function networkEncryption(tx: ReadTx, n: Network, peers: readonly { Name: string }[], local: LocalTunnel | undefined): NetworkEncryption | undefined {
  if (!Object.hasOwn(n.Spec.Options ?? {}, 'encrypted')) return undefined;
  const names = new Set(peers.map((p) => p.Name));
  const nodes = tx.list('node').filter((x) => names.has(x.Description.Hostname))
    .map((x) => ({ Name: x.Description.Hostname, Path: x.Description.ShoalWireGuard ? (x.Description.ShoalWireGuard.Path ?? 'wireguard-go') : 'none' as const }))
    .sort((a, b) => a.Name.localeCompare(b.Name));
  const out: NetworkEncryption = { Method: 'wireguard', Nodes: nodes };
  if (local?.path && local.address) {
    out.Local = { Interface: local.interface, Path: local.path, Address: local.address, KeyGeneration: local.keyGeneration ?? 0, Peers: local.peers };
  }
  return out;
}
