/**
 * Each node's network view (see `network-view-types.ts`), computed from the store's
 * networks, services, tasks and nodes. Pure: the dispatcher calls it on the leader after
 * commits that touched any of them and sends each node its view when it changed.
 *
 * Rules (Docker Swarm's):
 * - An endpoint is a peer from the moment its task is assigned to a node until the task
 *   ends (the same rule that keeps its address allocated), so FDB and neighbour entries
 *   are in place before the task starts.
 * - DNS answers, VIP backends and routing-mesh backends use only tasks observed
 *   `running`, still desired `running` and not reported unhealthy (a task with a health
 *   check is `running` only once healthy, as in Docker): a task the orchestrator or the
 *   updater stops, or whose check fails, leaves the rotation in that commit, before its
 *   node stops it (the node waits until it applied the view without the task).
 * - The ingress network carries no services (no DNS, no VIPs): as in Docker, a name
 *   resolves on the networks the service asked for, and the routing mesh balances
 *   published ports itself.
 * - A standalone container on an attachable network (a network attachment task, no
 *   service) is a peer like a task, and while running its name answers on that network.
 * - A node gets the networks of its live tasks, plus the ingress network (and the routing
 *   mesh's ports) whenever the swarm publishes an ingress port and the node has its
 *   ingress endpoint, so a published port answers on nodes without tasks too.
 * - A port of a service under a `local…` mesh traffic policy (Shoal's
 *   `com.shoal.mesh.traffic-policy`) also tells each node which of its backends run there.
 */
import { isAttachmentTask, isTerminal, TASK_STATES, type Task } from '../api/types/task.ts';
import type { Network, NetworkAttachment } from '../api/types/network.ts';
import type { Node } from '../api/types/node.ts';
import type { Service } from '../api/types/service.ts';
import type { ObjectEvent } from '../store/index.ts';
import { macFromIp } from '../../net/overlay/index.ts';
import { taskName } from '../common/task-name.ts';
import type { NodeNetworkView, ViewNetwork, ViewPeer, ViewPublishedPort, ViewService } from '../wire/network-view-types.ts';
import { isVtepAddr } from './underlay-addr.ts';
import { backendWeights } from './backend-weights.ts';
import type { Cluster } from '../store/index.ts';
import { isEncrypted, wireguardMembers, wireguardViews } from './network-view-wireguard.ts';
import { meshTrafficPolicy } from '../api/spec/mesh-traffic-policy.ts';

export interface NetworkViewInput {
  networks: readonly Network[];
  services: readonly Service[];
  tasks: readonly Task[];
  nodes: readonly Node[];
  /** The cluster's network key (encrypted overlays); none: encrypted networks get no peers. */
  cluster?: Pick<Cluster, 'ShoalNetworkKey'>;
}

const ASSIGNED = TASK_STATES.indexOf('assigned');

/** Whether the task holds its endpoints on a node: assigned there and not ended. */
export function isLiveEndpoint(t: Task): boolean {
  return !!t.NodeID && TASK_STATES.indexOf(t.Status.State) >= ASSIGNED && !isTerminal(t.Status.State);
}

/**
 * Whether the task is in DNS answers, VIP rotations and mesh backends: running, wanted
 * running, and healthy when it has a health check (no `Health`: no check).
 */
export function inRotation(t: Task): boolean {
  return t.Status.State === 'running' && t.DesiredState === 'running' && (t.Status.Health === undefined || t.Status.Health.Status === 'healthy');
}

/** Whether the task holds any network attachment. */
function attached(t: Task | undefined): boolean {
  return (t?.NetworksAttachments?.length ?? 0) > 0;
}

/** What of a task the views are made of: where it runs, whether it is a peer or in rotation, its addresses. */
function taskShape(t: Task): string {
  return JSON.stringify([t.NodeID, isLiveEndpoint(t), inRotation(t), t.NetworksAttachments]);
}

/** What of a node the views are made of: its address (VTEP) and its own endpoints. */
function nodeShape(n: Node): string {
  return JSON.stringify([n.Status.Addr, n.Description?.ShoalWireGuard, n.Attachments]);
}

/**
 * Whether a store change can change any node's view. Most commits are task state steps
 * (preparing, ready, starting) and node status writes, which change none: the views are
 * not recomputed for them.
 */
export function affectsViews(e: ObjectEvent): boolean {
  // A task adds to views only through its attachments (peers, service members, mesh
  // backends, a node's networks): one without any, before and after, changes none. Ten
  // thousand tasks of a service on no network recomputed every node's view per batch.
  if (e.kind.startsWith('task.') && !attached(e.object as Task) && !('old' in e && attached(e.old as Task))) return false;
  if (e.kind === 'task.updated') return taskShape(e.object) !== taskShape(e.old);
  if (e.kind === 'node.updated') return nodeShape(e.object) !== nodeShape(e.old);
  if (e.kind === 'cluster.updated') return e.object.ShoalNetworkKey?.Key !== e.old.ShoalNetworkKey?.Key;
  if (e.kind.startsWith('cluster.')) return true;
  return e.kind.startsWith('task.') || e.kind.startsWith('node.') || e.kind.startsWith('service.') || e.kind.startsWith('network.');
}

/** The address without its prefix length. */
function bare(addr: string): string {
  const slash = addr.indexOf('/');
  return slash < 0 ? addr : addr.slice(0, slash);
}

/** The IPv4 address of an attachment, if it has one. */
function addressOf(a: NetworkAttachment): string | undefined {
  const first = a.Addresses?.[0];
  return first ? bare(first) : undefined;
}

/** The networks a service asks for (IDs), with the aliases it gives itself on each. */
function serviceNetworks(s: Service): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of [...(s.Spec.TaskTemplate.Networks ?? []), ...(s.Spec.Networks ?? [])]) {
    out.set(n.Target, [...(out.get(n.Target) ?? []), ...(n.Aliases ?? [])]);
  }
  for (const v of s.Endpoint?.VirtualIPs ?? []) if (!out.has(v.NetworkID)) out.set(v.NetworkID, []);
  return out;
}

/** Ingress-mode published ports of a service as the allocator filled them in. */
function ingressPorts(s: Service): { protocol: 'tcp' | 'udp'; published: number; target: number }[] {
  const out: { protocol: 'tcp' | 'udp'; published: number; target: number }[] = [];
  for (const p of s.Endpoint?.Ports ?? []) {
    if ((p.PublishMode ?? 'ingress') !== 'ingress' || !p.PublishedPort) continue;
    if (p.Protocol === 'sctp') continue;
    out.push({ protocol: p.Protocol === 'udp' ? 'udp' : 'tcp', published: p.PublishedPort, target: p.TargetPort });
  }
  return out;
}

/** `ports` as node `nodeId` sees them: each `local…` port with the addresses of its tasks there (the others shared as they are). */
function localPorts(ports: ViewPublishedPort[], localOf: ReadonlyMap<string, string>, nodeId: string): ViewPublishedPort[] {
  if (!ports.some((p) => p.trafficPolicy)) return ports;
  return ports.map((p) => (p.trafficPolicy ? { ...p, local: p.backends.filter((ip) => localOf.get(ip) === nodeId) } : p));
}

/**
 * Every node's view, by node ID. Nodes without a usable underlay address are left out as
 * tunnel endpoints (no address, or one that is no IPv4 unicast address): one bad entry
 * must never make the other nodes' peer tables fail to program.
 */
export function computeNetworkViews(input: NetworkViewInput): Map<string, NodeNetworkView> {
  const vtepOf = new Map<string, string>();
  for (const n of input.nodes) if (n.Status.Addr && isVtepAddr(n.Status.Addr)) vtepOf.set(n.ID, n.Status.Addr);
  // Encrypted networks tunnel their VXLAN between the nodes' WireGuard addresses.
  const members = wireguardMembers(input.nodes, vtepOf);

  const networks = new Map<string, ViewNetwork>();
  for (const n of input.networks) {
    const a = n.Allocation;
    if (!a) continue;
    networks.set(n.ID, {
      id: n.ID, name: n.Spec.Name, ingress: !!n.Spec.Ingress,
      subnet: a.Subnet, gateway: a.Gateway, vni: a.VNI, mtu: a.MTU, peers: [], services: [],
      ...(isEncrypted(n) ? { encrypted: true as const } : {}),
    });
  }
  const ingressNet = [...networks.values()].find((n) => n.ingress);

  const addPeer = (networkId: string, ip: string | undefined, nodeId: string | undefined) => {
    const net = networks.get(networkId);
    const vtep = nodeId ? (net?.encrypted ? members.get(nodeId)?.address : vtepOf.get(nodeId)) : undefined;
    if (!net || !ip || !vtep) return;
    const peer: ViewPeer = { ip, mac: macFromIp(ip), vtep };
    net.peers.push(peer);
  };

  // Live task endpoints: peers, and each node's networks.
  const nodeNetworks = new Map<string, Set<string>>();
  const rotation = new Map<string, Task[]>();
  for (const t of input.tasks) {
    if (!isLiveEndpoint(t)) continue;
    for (const a of t.NetworksAttachments ?? []) {
      addPeer(a.Network.ID, addressOf(a), t.NodeID);
      if (!networks.has(a.Network.ID)) continue;
      let set = nodeNetworks.get(t.NodeID!);
      if (!set) nodeNetworks.set(t.NodeID!, (set = new Set()));
      set.add(a.Network.ID);
    }
    if (inRotation(t)) {
      const list = rotation.get(t.ServiceID);
      if (list) list.push(t);
      else rotation.set(t.ServiceID, [t]);
    }
  }
  // Nodes' own ingress endpoints.
  const nodeIngress = new Map<string, string>();
  for (const n of input.nodes) {
    for (const a of n.Attachments ?? []) {
      addPeer(a.Network.ID, addressOf(a), n.ID);
      if (ingressNet && a.Network.ID === ingressNet.id && a.Addresses?.[0]) nodeIngress.set(n.ID, a.Addresses[0]);
    }
  }

  // Services on each network; the routing mesh's ports.
  const ports: ViewPublishedPort[] = [];
  /** Ingress address → node, for the backends of ports under a `local…` traffic policy. */
  const localOf = new Map<string, string>();
  for (const s of input.services) {
    const mode = s.Spec.EndpointSpec?.Mode ?? s.Endpoint?.Spec?.Mode ?? 'vip';
    const tasks = (rotation.get(s.ID) ?? []).slice().sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
    const vips = new Map((s.Endpoint?.VirtualIPs ?? []).map((v) => [v.NetworkID, bare(v.Addr)]));
    // Canary share / blue-green hold (Shoal update strategies); undefined: equal shares.
    const weights = backendWeights(s, tasks);
    for (const [netId, aliases] of serviceNetworks(s)) {
      const net = networks.get(netId);
      // Docker's ingress network has no service discovery: names resolve on the service's own networks.
      if (!net || net.ingress) continue;
      const members: ViewService['tasks'] = [];
      for (const t of tasks) {
        const a = t.NetworksAttachments?.find((x) => x.Network.ID === netId);
        const ip = a && addressOf(a);
        if (ip) members.push({ name: taskName(t), ip, ...(weights ? { weight: weights.get(t.ID) ?? 1 } : {}) });
      }
      const vip = mode === 'vip' ? vips.get(netId) : undefined;
      const graceNs = s.Spec.TaskTemplate.ContainerSpec?.StopGracePeriod;
      net.services.push({
        id: s.ID, name: s.Spec.Name, endpointMode: mode, ...(vip ? { vip } : {}), aliases: [...new Set(aliases)], tasks: members,
        ...(graceNs !== undefined ? { stopGraceMs: Math.round(graceNs / 1e6) } : {}),
      });
    }
    if (!ingressNet) continue;
    const published = ingressPorts(s);
    if (published.length === 0) continue;
    const meshWeights: Record<string, number> = {};
    const policy = meshTrafficPolicy(s.Spec.Labels);
    const backends = tasks.flatMap((t) => {
      const a = t.NetworksAttachments?.find((x) => x.Network.ID === ingressNet.id);
      const ip = a && addressOf(a);
      if (ip && weights) meshWeights[ip] = weights.get(t.ID) ?? 1;
      // Under a `local…` policy each node gets its own tasks' addresses (see localPorts).
      if (ip && policy !== 'cluster' && t.NodeID) localOf.set(ip, t.NodeID);
      return ip ? [ip] : [];
    });
    const meshGraceNs = s.Spec.TaskTemplate.ContainerSpec?.StopGracePeriod;
    for (const p of published) {
      ports.push({
        service: s.Spec.Name, ...p, backends, ...(weights ? { weights: meshWeights } : {}),
        ...(policy !== 'cluster' ? { trafficPolicy: policy } : {}),
        ...(meshGraceNs !== undefined ? { stopGraceMs: Math.round(meshGraceNs / 1e6) } : {}),
      });
    }
  }
  // Standalone containers on attachable networks (network attachment tasks): their names
  // answer on their network, as a one-task `dnsrr` entry (no VIP).
  for (const t of input.tasks) {
    if (!isAttachmentTask(t) || !inRotation(t)) continue;
    for (const a of t.NetworksAttachments ?? []) {
      const net = networks.get(a.Network.ID);
      const ip = addressOf(a);
      const [name, ...aliases] = a.Aliases ?? [];
      if (!net || net.ingress || !ip || !name) continue;
      net.services.push({ id: t.ID, name, endpointMode: 'dnsrr', aliases, tasks: [{ name, ip }] });
    }
  }
  for (const net of networks.values()) {
    net.peers.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    net.services.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  ports.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.published - b.published);

  // Who shares which encrypted network (the nodes' networks as their views list them).
  const encryptedOf = new Map<string, Set<string>>();
  const nodesOn = new Map<string, Set<string>>();
  for (const n of input.nodes) {
    const ids = new Set(nodeNetworks.get(n.ID) ?? []);
    if (ingressNet && nodeIngress.get(n.ID) && ports.length > 0) ids.add(ingressNet.id);
    const enc = new Set([...ids].filter((id) => networks.get(id)?.encrypted));
    encryptedOf.set(n.ID, enc);
    for (const id of enc) nodesOn.set(id, (nodesOn.get(id) ?? new Set()).add(n.ID));
  }
  const wgViews = wireguardViews({ members, key: input.cluster?.ShoalNetworkKey, encryptedOf, nodesOn });

  const views = new Map<string, NodeNetworkView>();
  for (const n of input.nodes) {
    const vtep = vtepOf.get(n.ID);
    if (!vtep) continue;
    const ids = new Set(nodeNetworks.get(n.ID) ?? []);
    const ingressAddr = nodeIngress.get(n.ID);
    const withIngress = !!ingressNet && !!ingressAddr && ports.length > 0;
    if (withIngress) ids.add(ingressNet.id);
    const view: NodeNetworkView = {
      vtep,
      networks: [...ids].sort().map((id) => networks.get(id)!),
    };
    if (withIngress) view.ingress = { networkId: ingressNet.id, address: ingressAddr, ports: localPorts(ports, localOf, n.ID) };
    const wg = wgViews.get(n.ID);
    if (wg) view.wireguard = wg;
    views.set(n.ID, view);
  }
  return views;
}
