/**
 * The network agent's decisions, free of I/O: names of the namespaces it makes, a task's
 * attachments read from the Task object, the DNS table and each task's VIP services read
 * from the leader's view, host-mode ports, and the resolv.conf a task gets. The agent
 * (`network-agent.ts`) applies them to the kernel.
 */
import type { Task } from '../../api/types/task.ts';
import type { PortConfig } from '../../api/types/service.ts';
import type { DnsService, DnsTable } from '../../../net/dns/index.ts';
import type { MeshPort, VipService } from '../../../net/lb/index.ts';
import type { Peer } from '../../../net/overlay/index.ts';
import type { NodeNetworkView, ViewNetwork } from '../../wire/network-view-types.ts';
import { DEFAULT_OVERLAY_MTU } from '../../api/types/network.ts';

/** The agent's own mistake-proof errors: a task or view it cannot use. Nothing was changed. */
export class NetworkAgentError extends Error {
  override name = 'NetworkAgentError';
  constructor(message: string, opts?: { cause?: unknown }) { super(`network: ${message}`, opts); }
}

/** Characters of an ID kept in netns names (as Docker's short IDs). */
export const SHORT_ID = 12;

/** The sandbox netns of overlay network `networkId` on this node. */
export function sandboxNetns(prefix: string, networkId: string): string {
  return `${prefix}sb-${shortId(networkId, 'network')}`;
}

/** The netns of task `taskId`. */
export function taskNetns(prefix: string, taskId: string): string {
  return `${prefix}t-${shortId(taskId, 'task')}`;
}

function shortId(id: string, what: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new NetworkAgentError(`invalid ${what} id "${id}"`);
  return id.slice(0, SHORT_ID);
}

/** What a sandbox is made from (from a task attachment or a view network). */
export interface SandboxParams {
  networkId: string;
  vni: number;
  subnet: string;
  gateway: string;
  mtu: number;
  /** `--opt encrypted`: the VXLAN runs between WireGuard tunnel addresses (`wireguard-plane.ts`). */
  encrypted?: boolean;
  /** The swarm's ingress network (the routing mesh's): its sandbox keeps a bridge (task-path.ts). */
  ingress?: boolean;
}

/** One attachment of a task, ready for `attachTask`. */
export interface TaskAttachment extends SandboxParams {
  /** Task address without prefix. */
  ip: string;
  /** Prefix length of the subnet. */
  bits: number;
  aliases: string[];
  /** The network is internal (`--internal`): it gives the task no way out of the swarm. */
  internal?: boolean;
}

/**
 * The task's attachments in order (eth0, eth1, …). Throws `NetworkAgentError` when one
 * cannot be used (no allocation, no address, an address outside its subnet).
 */
export function taskAttachments(task: Task): TaskAttachment[] {
  const seen = new Set<string>();
  return (task.NetworksAttachments ?? []).map((a, i) => {
    const id = a.Network?.ID;
    const name = a.Network?.Spec?.Name ?? id;
    if (!id) throw new NetworkAgentError(`attachment ${i} of task ${task.ID} has no network id`);
    if (seen.has(id)) throw new NetworkAgentError(`task ${task.ID} is attached to network "${name}" twice`);
    seen.add(id);
    const al = a.Network.Allocation;
    if (!al) throw new NetworkAgentError(`network "${name}" of task ${task.ID} is not allocated`);
    const addr = (a.Addresses ?? [])[0];
    const m = addr === undefined ? null : /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(addr);
    if (!m) throw new NetworkAgentError(`task ${task.ID} has no valid address on network "${name}" (got ${JSON.stringify(addr ?? null)})`);
    const bits = Number(m[2]);
    const subnetBits = Number(al.Subnet.split('/')[1]);
    if (bits !== subnetBits || !inSubnet(m[1], al.Subnet)) {
      throw new NetworkAgentError(`address ${addr} of task ${task.ID} is not in subnet ${al.Subnet} of network "${name}"`);
    }
    return {
      networkId: id, vni: al.VNI, subnet: al.Subnet, gateway: al.Gateway, mtu: al.MTU || DEFAULT_OVERLAY_MTU,
      ip: m[1], bits, aliases: a.Aliases ?? [],
      ...(a.Network.Spec?.Internal ? { internal: true } : {}),
      ...(a.Network.Spec?.Options && Object.hasOwn(a.Network.Spec.Options, 'encrypted') ? { encrypted: true } : {}),
      ...(a.Network.Spec?.Ingress ? { ingress: true } : {}),
    };
  });
}

/**
 * Whether the task gets the node's gateway bridge (its default route out of the swarm),
 * as Docker decides: yes when one of its networks is not internal, or when it has no
 * networks but host-mode ports; a task only on internal networks has no way out. Such a
 * task cannot publish host-mode ports (they arrive over the gateway bridge): refused with
 * `NetworkAgentError`.
 */
export function needsGateway(taskId: string, { attachments, ports }: { attachments: readonly TaskAttachment[]; ports: readonly HostPort[] }): boolean {
  const out = attachments.length === 0 || attachments.some((a) => !a.internal);
  if (!out && ports.length) {
    throw new NetworkAgentError(`task ${taskId} publishes host-mode ports, but all its networks are internal (no way in or out of the swarm)`);
  }
  return out && (attachments.length > 0 || ports.length > 0);
}

/** The sandbox parameters of a view network. */
export function sandboxFromView(n: ViewNetwork): SandboxParams {
  return {
    networkId: n.id, vni: n.vni, subnet: n.subnet, gateway: n.gateway, mtu: n.mtu || DEFAULT_OVERLAY_MTU,
    ...(n.encrypted ? { encrypted: true } : {}), ...(n.ingress ? { ingress: true } : {}),
  };
}

/** The embedded DNS's records from the view: network id → its services. */
export function dnsTable(view: NodeNetworkView | undefined): DnsTable {
  const out: Record<string, DnsService[]> = {};
  for (const n of view?.networks ?? []) {
    out[n.id] = n.services.map((s) => ({
      name: s.name, endpointMode: s.endpointMode, vip: s.vip, aliases: s.aliases, tasks: s.tasks,
    }));
  }
  return out;
}

/**
 * What a stopping task may take before its stop grace starts: the agent's wait for every
 * node to drop it from rotation (at most 2 s, `Agent` drainMaxMs) and a margin for the
 * signal and the view to travel.
 */
const DRAIN_ALLOWANCE_MS = 5000;

/**
 * The VIP table of a task on `networkIds`: every service with a VIP on one of them,
 * balanced over that service's tasks on the same network (none: the VIP rejects).
 * Sorted by VIP so equal views render equal tables.
 */
export function vipServices(view: NodeNetworkView | undefined, networkIds: readonly string[]): VipService[] {
  const out = new Map<string, VipService>();
  for (const n of view?.networks ?? []) {
    if (!networkIds.includes(n.id)) continue;
    for (const s of n.services) {
      if (s.endpointMode !== 'vip' || !s.vip || out.has(s.vip)) continue;
      const weighted = s.tasks.some((t) => t.weight !== undefined);
      out.set(s.vip, {
        name: s.name, vip: s.vip, backends: s.tasks.map((t) => t.ip),
        // A stopping task drains (out of rotation, DRAIN_ALLOWANCE_MS at most) and then has its stop grace.
        ...(s.stopGraceMs !== undefined ? { drainMs: s.stopGraceMs + DRAIN_ALLOWANCE_MS } : {}),
        // Canary share or blue-green hold (see src/swarm/backend-weights.ts).
        ...(weighted ? { weights: Object.fromEntries(s.tasks.map((t) => [t.ip, t.weight ?? 1])) } : {}),
      });
    }
  }
  return [...out.values()].sort((a, b) => ipNum(a.vip) - ipNum(b.vip));
}

/**
 * The routing mesh's ports from the view's ingress ports: each port's traffic policy and
 * this node's backends of it (issue 22, item 2), and the drain its leaving backends get
 * before their connections are reset (as the VIP's, `vipServices`).
 */
export function meshPorts(view: NodeNetworkView | undefined): MeshPort[] {
  return (view?.ingress?.ports ?? []).map((p) => ({
    service: p.service, protocol: p.protocol, published: p.published, target: p.target, backends: p.backends,
    ...(p.weights ? { weights: p.weights } : {}),
    ...(p.trafficPolicy ? { policy: p.trafficPolicy, local: p.local ?? [] } : {}),
    ...(p.stopGraceMs !== undefined ? { drainMs: p.stopGraceMs + DRAIN_ALLOWANCE_MS } : {}),
  }));
}

/** The peers of a network that are on other nodes (`vtep` not one of `localVteps`). */
export function remotePeers(n: ViewNetwork | undefined, localVteps: readonly string[]): Peer[] {
  return (n?.peers ?? []).filter((p) => !localVteps.includes(p.vtep)).map((p) => ({ ip: p.ip, mac: p.mac, vtep: p.vtep }));
}

/** True when two peer lists program the same entries (order ignored). */
export function samePeers(a: readonly Peer[], b: readonly Peer[]): boolean {
  const key = (ps: readonly Peer[]) => ps.map((p) => `${p.ip}|${p.mac.toLowerCase()}|${p.vtep}`).sort().join(',');
  return key(a) === key(b);
}

/** A host-mode published port, as the gateway binds it. */
export interface HostPort {
  protocol: 'tcp' | 'udp';
  published: number;
  target: number;
}

/** The task's ports published in `host` mode, as its endpoint lists them. */
export function hostModePorts(task: Task): PortConfig[] {
  return (task.Endpoint?.Ports ?? task.Endpoint?.Spec?.Ports ?? []).filter((p) => p.PublishMode === 'host');
}

/** The range a host-mode port left at 0 is picked from (Docker's dynamic range). */
export const HOST_PORT_RANGE = { min: 30000, max: 32767 } as const;

/**
 * The task's host-mode ports, with a free port from `HOST_PORT_RANGE` for each left at 0
 * (free: not in `used`, as `protocol/port`, and not picked for an earlier port of the
 * task). Throws `NetworkAgentError` on a protocol it cannot publish or no free port.
 */
export function hostPorts(task: Task, used: ReadonlySet<string>): HostPort[] {
  const ports = hostModePorts(task);
  const taken = new Set(used);
  const out: HostPort[] = [];
  for (const p of ports.filter((q) => q.PublishedPort)) {
    const protocol = proto(p.Protocol, task.ID);
    taken.add(`${protocol}/${p.PublishedPort}`);
    out.push({ protocol, published: p.PublishedPort!, target: p.TargetPort });
  }
  for (const p of ports.filter((q) => !q.PublishedPort)) {
    const protocol = proto(p.Protocol, task.ID);
    let port = HOST_PORT_RANGE.min;
    while (port <= HOST_PORT_RANGE.max && taken.has(`${protocol}/${port}`)) port++;
    if (port > HOST_PORT_RANGE.max) throw new NetworkAgentError(`no free host port for ${protocol}/${p.TargetPort} of task ${task.ID}`);
    taken.add(`${protocol}/${port}`);
    out.push({ protocol, published: port, target: p.TargetPort });
  }
  return out;
}

function proto(p: string | undefined, taskId: string): 'tcp' | 'udp' {
  if (p === undefined || p === 'tcp' || p === 'udp') return p ?? 'tcp';
  throw new NetworkAgentError(`task ${taskId}: cannot publish ${p} ports in host mode`);
}

/** The nameservers of a resolv.conf that a daemon can forward to (loopback ones left out). */
export function upstreamsOf(resolvConf: string): string[] {
  const out: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const m = /^\s*nameserver\s+(\d{1,3}(?:\.\d{1,3}){3})\s*$/.exec(line);
    if (m && !m[1].startsWith('127.')) out.push(m[1]);
  }
  return out;
}

/** A task's resolv.conf: the embedded DNS, and the host's `search` line if any. */
export function taskResolvConf(hostResolvConf: string): string {
  const search = hostResolvConf.split('\n').filter((l) => /^\s*search\s+\S/.test(l)).pop();
  return `nameserver 127.0.0.11\noptions ndots:0\n${search ? search.trim() + '\n' : ''}`;
}

function ipNum(ip: string): number {
  return ip.split('.').reduce((n, b) => n * 256 + Number(b), 0);
}

function inSubnet(ip: string, subnet: string): boolean {
  const [base, bitsText] = subnet.split('/');
  const bits = Number(bitsText);
  if (!(bits >= 0 && bits <= 32)) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((ipNum(ip) & mask) >>> 0) === ((ipNum(base) & mask) >>> 0);
}

/** The host-side name of the veth into the ingress sandbox (≤ 15 characters). */
export const INGRESS_HOST_DEV = 'shoal-ingress';
/** Its peer's name, on the ingress sandbox's bridge (not a `v<hex>` task veth name). */
export const INGRESS_SANDBOX_DEV = 'ingress0';

/**
 * The routing mesh's way into the ingress network: a veth from the host netns (`host`
 * lines) to the ingress sandbox's bridge (`ip` lines, run in the sandbox), the host side
 * holding the node's ingress address (`A.B.C.D/N`) with the MAC derived from it, at the
 * network's MTU. Undo with `ingressUnlink`.
 */
export function ingressLink(sandbox: string, address: string, mtu: number, mac: string): { host: string[]; ip: string[]; bridge: string[] } {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(address)) throw new NetworkAgentError(`invalid ingress address "${address}"`);
  return {
    host: [
      `link add ${INGRESS_HOST_DEV} mtu ${mtu} type veth peer name ${INGRESS_SANDBOX_DEV} mtu ${mtu} netns ${sandbox}`,
      `link set ${INGRESS_HOST_DEV} address ${mac}`,
      `addr add ${address} dev ${INGRESS_HOST_DEV}`,
      `link set ${INGRESS_HOST_DEV} up`,
    ],
    ip: [`link set ${INGRESS_SANDBOX_DEV} master br0`, `link set ${INGRESS_SANDBOX_DEV} up`],
    bridge: [],
  };
}

/** Host lines removing the ingress veth (its peer in the sandbox goes with it). */
export function ingressUnlink(): string[] {
  return [`link del ${INGRESS_HOST_DEV}`];
}

/** Sandbox lines forgetting every programmed peer (after a failed update left them unknown). */
export function flushPeers(): { host: string[]; ip: string[]; bridge: string[] } {
  return { host: [], ip: ['neigh flush dev vxlan0 nud permanent'], bridge: ['fdb flush dev vxlan0 self'] };
}
