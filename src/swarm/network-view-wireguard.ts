/**
 * The WireGuard part of the network views (encrypted overlays), pure. Rules:
 * - A network is encrypted when its spec has Docker's `encrypted` option.
 * - A node takes part when it stated a WireGuard key (`Description.ShoalWireGuard`) and
 *   has a usable underlay address; its tunnel address comes from `tunnelAddresses`
 *   (a hash of its ID, stable while it stays in the swarm).
 * - On an encrypted network, an endpoint's VTEP is its node's tunnel address; an endpoint
 *   on a node that does not take part is left out (its traffic would cross in plaintext).
 * - A node's WireGuard peers are the nodes sharing at least one encrypted network with it
 *   (through live endpoints), each with the swarm's current key as preshared key. A node
 *   removed from the swarm is in no list, and the key rotates (`manager/netkeys/`).
 */
import type { Network } from '../api/types/network.ts';
import type { Node } from '../api/types/node.ts';
import type { NetworkKeyRecord } from '../store/index.ts';
import { tunnelAddresses } from '../../net/wireguard/plan.ts';
import type { ViewWireGuard } from '../wire/network-view-types.ts';

/** Docker's option for an encrypted overlay (`--opt encrypted`). */
export const ENCRYPTED = 'encrypted';

/** Whether the network's traffic between nodes is encrypted. */
export function isEncrypted(n: Pick<Network, 'Spec'>): boolean {
  return Object.hasOwn(n.Spec.Options ?? {}, ENCRYPTED);
}

/** A node's WireGuard identity, as the managers know it. */
export interface WgMember {
  publicKey: string;
  endpoint: string;
  address: string;
}

/** Each taking-part node's identity, by node ID (`vtepOf`: the usable underlay addresses). */
export function wireguardMembers(nodes: readonly Node[], vtepOf: ReadonlyMap<string, string>): Map<string, WgMember> {
  const able = nodes.filter((n) => n.Description?.ShoalWireGuard && vtepOf.has(n.ID));
  const addrs = tunnelAddresses(able.map((n) => ({ id: n.ID, createdAt: n.CreatedAt ?? '' })));
  const out = new Map<string, WgMember>();
  for (const n of able) {
    const wg = n.Description.ShoalWireGuard!;
    out.set(n.ID, { publicKey: wg.PublicKey, endpoint: `${vtepOf.get(n.ID)}:${wg.Port}`, address: addrs.get(n.ID)! });
  }
  return out;
}

/**
 * The `wireguard` part of each node's view: for every member with an encrypted network
 * (`encryptedOf`: node ID → IDs of its encrypted networks; `nodesOn`: encrypted network
 * ID → nodes with a live endpoint on it), its address, the key and the members it shares
 * one with. None without a key.
 */
export function wireguardViews(input: {
  members: ReadonlyMap<string, WgMember>;
  key: NetworkKeyRecord | undefined;
  encryptedOf: ReadonlyMap<string, ReadonlySet<string>>;
  nodesOn: ReadonlyMap<string, ReadonlySet<string>>;
}): Map<string, ViewWireGuard> {
  const out = new Map<string, ViewWireGuard>();
  if (!input.key) return out;
  for (const [nodeId, nets] of input.encryptedOf) {
    const me = input.members.get(nodeId);
    if (!me || nets.size === 0) continue;
    const peerIds = new Set<string>();
    for (const net of nets) for (const other of input.nodesOn.get(net) ?? []) if (other !== nodeId && input.members.has(other)) peerIds.add(other);
    out.set(nodeId, {
      address: me.address,
      key: input.key.Key,
      keyGeneration: input.key.Generation,
      peers: [...peerIds].sort().map((id) => {
        const m = input.members.get(id)!;
        return { node: id, publicKey: m.publicKey, endpoint: m.endpoint, address: m.address };
      }),
    });
  }
  return out;
}
