/**
 * The allocator's in-memory state (IPAM + published ports) and the one rule that says
 * who holds what, read from the store:
 *
 * - a network holds its `Allocation` (subnet, gateway, VNI);
 * - a service holds its `Endpoint.VirtualIPs` (owner `vip:<service id>`) and the
 *   ingress-mode published ports of `Endpoint.Ports` (owner `<service id>`);
 * - a node holds the addresses of its `Attachments` (owner `node:<node id>`);
 * - a task holds the addresses of its `NetworksAttachments` (owner `task:<task id>`)
 *   until it is deleted or its observed state is terminal (complete, shutdown, failed,
 *   rejected, remove, orphaned).
 *
 * `reconcileState` makes the state hold exactly that (releasing what is no longer held,
 * keeping each network's cursor); `rebuildState` is the same from nothing, for a new
 * leader. Both use this one rule, so a new leader never hands out an address twice.
 */
import { isTerminal, type Task } from '../../api/types/task.ts';
import type { Network } from '../../api/types/network.ts';
import type { Node } from '../../api/types/node.ts';
import type { PortConfig, Service } from '../../api/types/service.ts';
import type { Cluster } from '../../store/index.ts';
import {
  createIpamState, createPortState, formatAddress, GATEWAY_OWNER, parseAddress, releaseNetwork,
  type IpamState, type NetworkIpam, type PortState,
} from '../../../net/ipam/index.ts';
import { isOverlay, poolsOf, recordOf } from './network-spec.ts';
import { messageOf } from './errors.ts';

export interface AllocatorState {
  ipam: IpamState;
  ports: PortState;
}

/** What the allocator reads from the store. */
export interface AllocatorInput {
  cluster?: Pick<Cluster, 'DefaultAddrPool' | 'SubnetSize'>;
  networks: readonly Network[];
  services: readonly Service[];
  tasks: readonly Task[];
  nodes: readonly Node[];
}

/** IPAM owners of each kind. */
export const owner = {
  vip: (serviceId: string) => `vip:${serviceId}`,
  task: (taskId: string) => `task:${taskId}`,
  node: (nodeId: string) => `node:${nodeId}`,
};

/** Whether a task still holds its addresses: it has some and has not ended. */
export function holdsAddresses(t: Task): boolean {
  return (t.NetworksAttachments?.length ?? 0) > 0 && !isTerminal(t.Status.State);
}

/** A port's publish mode and protocol with Docker's defaults. */
export function publishMode(p: PortConfig): 'ingress' | 'host' {
  return p.PublishMode ?? 'ingress';
}
export function protocolOf(p: PortConfig): 'tcp' | 'udp' | 'sctp' {
  return p.Protocol ?? 'tcp';
}

interface Held { networkId: string; address: string; owner: string }

/** Every address the store says is held, VIPs first, then nodes, then tasks (each sorted by ID as listed). */
function heldAddresses(input: AllocatorInput): Held[] {
  const out: Held[] = [];
  for (const s of input.services) {
    for (const v of s.Endpoint?.VirtualIPs ?? []) out.push({ networkId: v.NetworkID, address: hostOf(v.Addr), owner: owner.vip(s.ID) });
  }
  for (const n of input.nodes) {
    for (const a of n.Attachments ?? []) for (const addr of a.Addresses) out.push({ networkId: a.Network.ID, address: hostOf(addr), owner: owner.node(n.ID) });
  }
  for (const t of input.tasks) {
    if (!holdsAddresses(t)) continue;
    for (const a of t.NetworksAttachments!) for (const addr of a.Addresses) out.push({ networkId: a.Network.ID, address: hostOf(addr), owner: owner.task(t.ID) });
  }
  return out;
}

/** The input with every list in ID order (as the store lists them), so a pass is deterministic whatever the caller passes. */
export function sortedInput(input: AllocatorInput): AllocatorInput {
  const sorted = <T extends { ID: string }>(l: readonly T[]): readonly T[] =>
    l.every((x, i) => i === 0 || l[i - 1]!.ID < x.ID) ? l : [...l].sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
  return { ...input, networks: sorted(input.networks), services: sorted(input.services), tasks: sorted(input.tasks), nodes: sorted(input.nodes) };
}

/** `10.0.0.2/24` → `10.0.0.2`. */
export function hostOf(addr: string): string {
  const slash = addr.indexOf('/');
  return slash < 0 ? addr : addr.slice(0, slash);
}

/** The ports key of net/ipam (`tcp/8080`). */
export function portKey(protocol: string, port: number): string {
  return `${protocol}/${port}`;
}

/**
 * The state holding exactly what the store says is held: networks added (from their
 * `Allocation`) or released (deleted), addresses and ports set per the rule above.
 * Cursors of networks already known are kept. Conflicts in the store (one address, two
 * holders) keep the first holder and are reported in `warnings`.
 */
export function reconcileState(state: AllocatorState, given: AllocatorInput): { state: AllocatorState; warnings: string[] } {
  const input = sortedInput(given);
  const warnings: string[] = [];
  let ipam = state.ipam;
  const pools = poolsOf(input.cluster);
  if (JSON.stringify(pools) !== JSON.stringify(ipam.pools)) {
    try {
      ipam = { ...ipam, pools: createIpamState({ pools }).pools };
    } catch (err) {
      warnings.push(`cluster default address pool unusable, keeping ${JSON.stringify(ipam.pools)}: ${messageOf(err)}`);
    }
  }
  const stored = new Map<string, NetworkIpam>();
  for (const n of input.networks) if (n.Allocation && isOverlay(n)) stored.set(n.ID, ipam.networks[n.ID] ?? recordOf({ ...n, Allocation: n.Allocation }));
  for (const id of Object.keys(ipam.networks)) if (!stored.has(id)) ipam = releaseNetwork(ipam, id);

  const addresses = new Map<string, Record<string, string>>();
  for (const [id, rec] of stored) addresses.set(id, { [rec.gateway]: GATEWAY_OWNER });
  for (const h of heldAddresses(input)) {
    const map = addresses.get(h.networkId);
    if (!map) continue; // a network gone (or never allocated): nothing to hold there
    let key: string;
    try {
      key = formatAddress(parseAddress(h.address));
    } catch {
      warnings.push(`${h.owner}: unreadable address "${h.address}" on network ${h.networkId} ignored`);
      continue;
    }
    const cur = map[key];
    if (cur === undefined) map[key] = h.owner;
    else if (cur !== h.owner) warnings.push(`address ${key} on network ${h.networkId} held by both ${cur} and ${h.owner}; keeping ${cur}`);
  }
  const networks: Record<string, NetworkIpam> = {};
  for (const [id, rec] of stored) {
    const want = addresses.get(id)!;
    networks[id] = sameRecord(rec.addresses, want) ? rec : { ...rec, addresses: want };
  }
  ipam = { ...ipam, networks };

  const ports: Record<string, string> = {};
  for (const s of input.services) {
    for (const p of s.Endpoint?.Ports ?? []) {
      if (publishMode(p) !== 'ingress' || !p.PublishedPort) continue;
      const key = portKey(protocolOf(p), p.PublishedPort);
      const cur = ports[key];
      if (cur === undefined) ports[key] = s.ID;
      else if (cur !== s.ID) warnings.push(`published port ${key} held by both services ${cur} and ${s.ID}; keeping ${cur}`);
    }
  }
  const portState = sameRecord(state.ports.ports, ports) ? state.ports : { ports };
  return { state: { ipam, ports: portState }, warnings };
}

/**
 * The state a new leader starts from, rebuilt from the store by the same rule. Each
 * network's round-robin cursor is set to its highest held address (other than the
 * gateway): an approximation of where the last leader stopped, so addresses released
 * below it are not reused before the range wraps; ones released above it may be
 * (the exact cursor is not stored).
 */
export function rebuildState(input: AllocatorInput): { state: AllocatorState; warnings: string[] } {
  let pools;
  try {
    pools = createIpamState({ pools: poolsOf(input.cluster) }).pools;
  } catch {
    pools = undefined; // reported by reconcileState
  }
  const empty: AllocatorState = { ipam: createIpamState(pools ? { pools } : {}), ports: createPortState() };
  const { state, warnings } = reconcileState(empty, input);
  const networks: Record<string, NetworkIpam> = {};
  for (const [id, rec] of Object.entries(state.ipam.networks)) {
    let top = -1;
    for (const [addr, who] of Object.entries(rec.addresses)) if (who !== GATEWAY_OWNER) top = Math.max(top, parseAddress(addr));
    networks[id] = top < 0 ? rec : { ...rec, cursor: formatAddress(top) };
  }
  return { state: { ...state, ipam: { ...state.ipam, networks } }, warnings };
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
