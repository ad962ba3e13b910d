/**
 * What the leader tells each node about the overlay networks it takes part in (the
 * `network` session frame): enough to program its sandboxes (peers), the embedded DNS,
 * the VIP tables inside its tasks and the routing mesh. Computed from the store by the
 * pure `network-view.ts`; the node replaces its whole view with each frame.
 */

/** An endpoint anywhere in the swarm (a task's or a node's ingress endpoint). */
export interface ViewPeer {
  /** Overlay address, no prefix. */
  ip: string;
  /** `02:42:` + the address bytes. */
  mac: string;
  /** Underlay address of the node it lives on (VXLAN tunnel endpoint). */
  vtep: string;
}

/** A service attached to a network. */
export interface ViewService {
  id: string;
  name: string;
  endpointMode: 'vip' | 'dnsrr';
  /** The service's VIP on this network, no prefix (mode `vip`). */
  vip?: string;
  /** Network aliases of the service on this network. */
  aliases: string[];
  /**
   * The service's stop grace period, ms, when its spec has one: how long a task that left
   * the rotation may still serve its open connections (the VIP resets them after that).
   */
  stopGraceMs?: number;
  /**
   * The service's tasks in the rotation: observed `running` and desired `running`, by
   * name (`web.1.<task id>`) and address on this network. DNS answers and VIP backends
   * come from this list only, so a stopping task leaves both at the commit that stops it.
   */
  tasks: {
    name: string;
    ip: string;
    /** Share of new VIP connections (integer, 0 = none), present only while a canary or blue-green update weighs backends. */
    weight?: number;
  }[];
}

/** One overlay network, as the node needs it. */
export interface ViewNetwork {
  id: string;
  name: string;
  ingress: boolean;
  /** `A.B.C.D/N`. */
  subnet: string;
  gateway: string;
  vni: number;
  mtu: number;
  /** Every endpoint on this network on every node, this one included (the agent skips its own VTEP). */
  peers: ViewPeer[];
  services: ViewService[];
  /**
   * `--opt encrypted`: this network's VXLAN runs between the nodes' WireGuard tunnel
   * addresses (`NodeNetworkView.wireguard`), so its `peers[].vtep` are tunnel addresses.
   */
  encrypted?: true;
}

/** A node this one exchanges encrypted overlay traffic with. */
export interface ViewWireGuardPeer {
  node: string;
  /** Its WireGuard public key, base64. */
  publicKey: string;
  /** `A.B.C.D:PORT` on the underlay. */
  endpoint: string;
  /** Its tunnel address. */
  address: string;
}

/** This node's part in encrypted overlays: present when one of its networks is encrypted. */
export interface ViewWireGuard {
  /** This node's tunnel address. */
  address: string;
  /** The swarm's network key (WireGuard preshared key), base64: secret, never written to disk by the node. */
  key: string;
  /** Its generation (rises at each rotation). */
  keyGeneration: number;
  /** The nodes sharing an encrypted network with this one, by node ID. */
  peers: ViewWireGuardPeer[];
}

/** One ingress-mode published port, for the routing mesh. */
export interface ViewPublishedPort {
  service: string;
  protocol: 'tcp' | 'udp';
  published: number;
  target: number;
  /** The service's tasks in the rotation, by their address on the ingress network. */
  backends: string[];
  /** Address → share of new connections, present only while a canary or blue-green update weighs backends. */
  weights?: Record<string, number>;
  /**
   * The service's `com.shoal.mesh.traffic-policy` when not the default `cluster`: the
   * node sends the port's connections to its own tasks (`local`) without source NAT.
   */
  trafficPolicy?: 'local' | 'local-or-forward';
  /** With `trafficPolicy`: which of `backends` run on the node this view is for. */
  local?: string[];
  /** The service's stop grace period, ms, when its spec has one (see `ViewService.stopGraceMs`). */
  stopGraceMs?: number;
}

export interface NodeNetworkView {
  /**
   * The store index this view was computed at (absent from managers before view
   * acknowledgements): the node acknowledges it once applied, see `view-watermark.ts`.
   */
  generation?: number;
  /** This node's underlay address as the managers know it (its VTEP). */
  vtep: string;
  /** The networks of this node's tasks (assigned and not yet ended), plus ingress when `ingress` is set. */
  networks: ViewNetwork[];
  /** Present when one of `networks` is encrypted and the swarm has a network key. */
  wireguard?: ViewWireGuard;
  /** Present when the swarm publishes ingress ports and this node has its ingress endpoint. */
  ingress?: {
    networkId: string;
    /** This node's ingress address, `A.B.C.D/N`. */
    address: string;
    ports: ViewPublishedPort[];
  };
}
