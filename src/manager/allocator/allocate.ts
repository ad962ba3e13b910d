/**
 * One allocator pass (pure): from the state and what the store holds, the objects to
 * write back and the state after writing them. In order, as SwarmKit's allocator:
 *
 * 1. networks without `Allocation` get one (explicit subnets before carved ones, so a
 *    carved subnet never takes one another network asked for);
 * 2. services get their `Endpoint` (ports with dynamic published ports filled in, one
 *    VIP per attached network in `vip` mode, ingress first), written only when changed;
 * 3. nodes get their address on the ingress network (`Attachments`);
 * 4. tasks in state `new` that still want to run get `NetworksAttachments` (ingress
 *    first, so it becomes eth0 as in Docker) and the service's `Endpoint`, and move to
 *    `pending`; a task that cannot be allocated stays `new` with `Status.Err` set. A
 *    network attachment task (no service) gets its attachable network and moves to
 *    `assigned` (its node is fixed).
 *
 * Nothing throws for one object's failure: it is reported in `warnings` (and in the
 * task's `Status.Err`) and retried on the next pass.
 */
import type { Network, NetworkAttachment } from '../../api/types/network.ts';
import type { Node } from '../../api/types/node.ts';
import type { Endpoint, NetworkAttachmentConfig, PortConfig, Service } from '../../api/types/service.ts';
import { isAttachmentTask, type Task } from '../../api/types/task.ts';
import { canonicalJson } from '../../store/index.ts';
import {
  allocateAddress, allocateAddresses, allocateNetwork, allocatePort, freeAddresses, InUseError, parsePrefix, PoolExhaustedError,
  releaseAddress, releasePorts,
  type IpamState, type PortState,
} from '../../../net/ipam/index.ts';
import { wantsToRun, withState } from '../../common/task-state.ts';
import { messageOf } from './errors.ts';
import { allocationOf, isOverlay, parseNetworkSpec } from './network-spec.ts';
import {
  hostOf, owner, portKey, protocolOf, publishMode, reconcileState, sortedInput, type AllocatorInput, type AllocatorState,
} from './state.ts';

export interface PassResult {
  state: AllocatorState;
  /** Changed objects to write (each as read, with the allocator's fields set). */
  networks: Network[];
  services: Service[];
  nodes: Node[];
  tasks: Task[];
  warnings: string[];
}

/** Docker's refusal when a service publishes ingress ports and the swarm has no ingress network. */
export const NO_INGRESS = 'service needs ingress network, but no ingress network is present';

/** Runs one pass. `now`: ms since the epoch (task status timestamps). */
export function allocatePass(state: AllocatorState, given: AllocatorInput, opts: { now: number }): PassResult {
  const input = sortedInput(given);
  const r = reconcileState(state, input);
  const out: PassResult = { state: r.state, networks: [], services: [], nodes: [], tasks: [], warnings: r.warnings };

  const nets = allocateNetworks(out, input.networks);
  const ingress = [...nets.values()].filter((n) => n.Spec.Ingress).sort(byId)[0];

  const services = new Map<string, Service>();
  const serviceErr = new Map<string, string>();
  for (const s of input.services) {
    try {
      const { ipam, ports, endpoint } = serviceEndpoint(out.state, s, nets, ingress, input.services);
      out.state = { ipam, ports };
      if (canonicalJson(endpoint) !== canonicalJson(s.Endpoint ?? null)) {
        const next = { ...s, Endpoint: endpoint };
        out.services.push(next);
        services.set(s.ID, next);
      } else services.set(s.ID, s);
    } catch (err) {
      const msg = messageOf(err);
      serviceErr.set(s.ID, msg);
      services.set(s.ID, s);
      out.warnings.push(`service "${s.Spec.Name}" (${s.ID}): ${msg}`);
    }
  }

  // Once the ingress pool is exhausted, a node with nothing to keep or release can only
  // fail the same way: it gets the same warning without another search of the pool (a
  // default /24 ingress and a thousand nodes: 750 full searches in every pass).
  let exhausted: { message: string; holders: Set<string> } | undefined;
  for (const n of input.nodes) {
    if (exhausted && !n.Attachments?.length && !exhausted.holders.has(owner.node(n.ID))) {
      out.warnings.push(`node ${n.ID}: ${exhausted.message}`);
      continue;
    }
    try {
      const { ipam, node } = nodeAttachments(out.state.ipam, n, ingress);
      out.state = { ...out.state, ipam };
      if (node) out.nodes.push(node);
    } catch (err) {
      const message = messageOf(err);
      out.warnings.push(`node ${n.ID}: ${message}`);
      const net = ingress && out.state.ipam.networks[ingress.ID];
      if (err instanceof PoolExhaustedError && net) exhausted = { message, holders: new Set(Object.values(net.addresses)) };
    }
  }

  allocateTasks(out, input.tasks, services, serviceErr, nets, ingress, opts.now);
  return out;
}

function byId(a: { ID: string }, b: { ID: string }): number {
  return a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0;
}

/** Allocates the networks that lack an `Allocation`; returns every network by ID as it will be. */
function allocateNetworks(out: PassResult, networks: readonly Network[]): Map<string, Network> {
  const all = new Map(networks.map((n) => [n.ID, n]));
  const todo = networks.filter((n) => !n.Allocation && isOverlay(n));
  // Ingress first, then networks asking for a subnet, then carved ones; oldest first.
  const rank = (n: Network) => (n.Spec.Ingress ? 0 : n.Spec.IPAM?.Config?.[0]?.Subnet ? 1 : 2);
  todo.sort((a, b) => rank(a) - rank(b) || (a.CreatedAt < b.CreatedAt ? -1 : a.CreatedAt > b.CreatedAt ? 1 : byId(a, b)));
  for (const n of todo) {
    try {
      const { request, mtu } = parseNetworkSpec(n.ID, n.Spec);
      const r = allocateNetwork(out.state.ipam, request);
      out.state = { ...out.state, ipam: r.state };
      const next = { ...n, Allocation: allocationOf(r.network, mtu) };
      out.networks.push(next);
      all.set(n.ID, next);
    } catch (err) {
      out.warnings.push(`network "${n.Spec.Name}" (${n.ID}) not allocated: ${messageOf(err)}`);
    }
  }
  return all;
}

/** A network with its allocation. */
type AllocatedNetwork = Network & { Allocation: NonNullable<Network['Allocation']> };

/** An allocated overlay network by ID, or a clear error. */
function usable(nets: Map<string, Network>, id: string): AllocatedNetwork {
  const n = nets.get(id);
  if (!n) throw new Error(`network ${id} not found`);
  if (!isOverlay(n)) throw new Error(`network "${n.Spec.Name}" has driver "${n.Spec.Driver}": only overlay networks can be attached`);
  if (!n.Allocation) throw new Error(`network "${n.Spec.Name}" is not allocated yet`);
  return n as AllocatedNetwork;
}

/** `10.0.1.5` on a `/24` network → `10.0.1.5/24`. */
function withBits(n: AllocatedNetwork, address: string): string {
  return `${address}/${parsePrefix(n.Allocation.Subnet).bits}`;
}

/** The networks a service's tasks attach to: `TaskTemplate.Networks`, else the deprecated `Spec.Networks`; unique by target. */
function attachmentConfigs(configs: readonly NetworkAttachmentConfig[] | undefined): NetworkAttachmentConfig[] {
  const seen = new Set<string>();
  return (configs ?? []).filter((c) => !seen.has(c.Target) && seen.add(c.Target));
}
function serviceNetworks(s: Service): NetworkAttachmentConfig[] {
  const t = s.Spec.TaskTemplate.Networks;
  return attachmentConfigs(t?.length ? t : s.Spec.Networks);
}

function hasIngressPorts(ports: readonly PortConfig[] | undefined): boolean {
  return (ports ?? []).some((p) => publishMode(p) === 'ingress' && !!p.PublishedPort);
}

/**
 * A service's endpoint: its spec's ports with Docker's defaults filled in and ingress
 * ports published (a port left at 0 keeps the one it had, else gets the lowest free of
 * 30000–32767), and in `vip` mode one VIP per network (ingress first when it publishes
 * an ingress port). What the service no longer uses is released. Throws (state unchanged).
 */
function serviceEndpoint(
  state: AllocatorState, s: Service, nets: Map<string, Network>, ingress: Network | undefined, services: readonly Service[],
): { ipam: IpamState; ports: PortState; endpoint: Endpoint } {
  const spec = s.Spec.EndpointSpec ?? {};
  let ports = releasePorts(state.ports, s.ID);
  const specPorts = spec.Ports ?? [];
  const result: (PortConfig | undefined)[] = specPorts.map(() => undefined);
  const norm = (p: PortConfig): PortConfig => ({
    ...(p.Name !== undefined ? { Name: p.Name } : {}), Protocol: protocolOf(p), TargetPort: p.TargetPort, PublishedPort: p.PublishedPort ?? 0, PublishMode: publishMode(p),
  });
  const take = (i: number, published: number | undefined): void => {
    const p = norm(specPorts[i]!);
    try {
      const r = allocatePort(ports, s.ID, { protocol: protocolOf(p), ...(published ? { published } : {}) });
      ports = r.state;
      result[i] = { ...p, PublishedPort: r.port };
    } catch (err) {
      if (!(err instanceof InUseError) || !published) throw err;
      const holder = services.find((x) => x.ID === state.ports.ports[portKey(protocolOf(p), published)]);
      throw new Error(`port '${published}' is already in use by service '${holder?.Spec.Name ?? '?'}' (${holder?.ID ?? '?'}) as an ingress port`);
    }
  };
  // Requested ports first, then ports left at 0 (keeping the port they had), then new ones.
  specPorts.forEach((p, i) => {
    if (publishMode(p) === 'host') result[i] = norm(p);
    else if (p.PublishedPort) take(i, p.PublishedPort);
  });
  const old = (s.Endpoint?.Ports ?? []).filter((p) => publishMode(p) === 'ingress' && p.PublishedPort);
  specPorts.forEach((p, i) => {
    if (result[i]) return;
    const j = old.findIndex((o) => o.TargetPort === p.TargetPort && protocolOf(o) === protocolOf(p) && (o.Name ?? '') === (p.Name ?? '') &&
      ports.ports[portKey(protocolOf(o), o.PublishedPort!)] === undefined);
    if (j < 0) return;
    take(i, old[j]!.PublishedPort);
    old.splice(j, 1);
  });
  specPorts.forEach((_, i) => { if (!result[i]) take(i, undefined); });
  const outPorts = result as PortConfig[];

  // VIPs: release those on networks no longer wanted, then allocate (an owner keeps its address).
  let ipam = state.ipam;
  const want: string[] = [];
  if (hasIngressPorts(outPorts)) {
    if (!ingress) throw new Error(NO_INGRESS);
    want.push(ingress.ID);
  }
  for (const c of serviceNetworks(s)) if (!want.includes(c.Target)) want.push(c.Target);
  const vipMode = (spec.Mode ?? 'vip') === 'vip';
  for (const v of s.Endpoint?.VirtualIPs ?? []) {
    if (vipMode && want.includes(v.NetworkID)) continue;
    if (ipam.networks[v.NetworkID]) ipam = releaseAddress(ipam, v.NetworkID, hostOf(v.Addr));
  }
  const vips: { NetworkID: string; Addr: string }[] = [];
  if (vipMode) {
    for (const id of want) {
      const n = usable(nets, id);
      const r = allocateAddress(ipam, id, { owner: owner.vip(s.ID) });
      ipam = r.state;
      vips.push({ NetworkID: id, Addr: withBits(n, r.address) });
    }
  } else {
    for (const id of want) usable(nets, id); // dnsrr: no VIP, but the networks must exist
  }
  const endpoint: Endpoint = { Spec: structuredClone(spec) };
  if (outPorts.length > 0) endpoint.Ports = outPorts;
  if (vips.length > 0) endpoint.VirtualIPs = vips;
  return { ipam, ports, endpoint };
}

/** A node's attachments: one address on the ingress network; others (a replaced ingress) released. */
function nodeAttachments(ipam: IpamState, n: Node, ingress: Network | undefined): { ipam: IpamState; node?: Node } {
  const cur = n.Attachments ?? [];
  const ing = ingress?.Allocation ? (ingress as AllocatedNetwork) : undefined;
  const keep = ing ? cur.find((a) => a.Network.ID === ing.ID && a.Addresses.length > 0) : undefined;
  if (keep && cur.length === 1) return { ipam };
  for (const a of cur) {
    if (a === keep || !ipam.networks[a.Network.ID]) continue;
    for (const addr of a.Addresses) ipam = releaseAddress(ipam, a.Network.ID, hostOf(addr));
  }
  if (!ing) return { ipam, ...(cur.length > 0 ? { node: withAttachments(n, []) } : {}) };
  if (keep) return { ipam, node: withAttachments(n, [keep]) };
  const r = allocateAddress(ipam, ing.ID, { owner: owner.node(n.ID) });
  return { ipam: r.state, node: withAttachments(n, [attachment(ing, r.address)]) };
}

function withAttachments(n: Node, attachments: NetworkAttachment[]): Node {
  const next = { ...n, Attachments: attachments };
  if (attachments.length === 0) delete (next as Partial<Node>).Attachments;
  return next;
}

function attachment(n: AllocatedNetwork, address: string, aliases?: string[]): NetworkAttachment {
  return {
    Network: { ID: n.ID, Spec: structuredClone(n.Spec), Allocation: { ...n.Allocation } },
    Addresses: [withBits(n, address)],
    ...(aliases?.length ? { Aliases: [...aliases] } : {}),
  };
}

/** A task to allocate and the networks it attaches to, in order. */
interface TaskWant {
  task: Task;
  /** Absent for a network attachment task (a standalone container's endpoint). */
  service?: Service;
  targets: { network: AllocatedNetwork; aliases?: string[] }[];
}

/**
 * Allocates the tasks in state `new` that still want to run: attachments (see
 * `taskTargets`), the service's endpoint, state `pending`. Addresses are handed out per
 * network in one batch (`allocateAddresses`), tasks in ID order; a task is served only
 * if every one of its networks has an address left for it, so a task that cannot be
 * served takes nothing. One that cannot keeps state `new` with `Status.Err`.
 */
function allocateTasks(
  out: PassResult, tasks: readonly Task[], services: Map<string, Service>, serviceErr: Map<string, string>,
  nets: Map<string, Network>, ingress: Network | undefined, now: number,
): void {
  const fail = (t: Task, err: unknown) => {
    const msg = messageOf(err);
    if (t.Status.Err !== msg) out.tasks.push({ ...t, Status: { ...t.Status, Err: msg } });
  };
  const wants: TaskWant[] = [];
  for (const t of tasks) {
    if (t.Status.State !== 'new' || !wantsToRun(t.DesiredState)) continue;
    if (isAttachmentTask(t)) {
      // A standalone container's endpoint: its networks only (never ingress), no service.
      try {
        wants.push({ task: t, targets: attachmentTargets(t, nets) });
      } catch (err) {
        fail(t, err);
      }
      continue;
    }
    const service = services.get(t.ServiceID);
    if (!service) continue; // a task of a deleted service: the orchestrator removes it
    const known = serviceErr.get(service.ID);
    if (known !== undefined) {
      fail(t, new Error(known));
      continue;
    }
    try {
      wants.push({ task: t, service, targets: taskTargets(t, service, nets, ingress) });
    } catch (err) {
      fail(t, err);
    }
  }
  if (wants.length === 0) return;

  // Serve tasks in order while every network they need has an address left.
  const free = new Map<string, number>();
  const served: TaskWant[] = [];
  for (const w of wants) {
    for (const { network } of w.targets) if (!free.has(network.ID)) free.set(network.ID, freeAddresses(out.state.ipam, network.ID));
    const short = w.targets.find(({ network }) => free.get(network.ID)! < 1);
    if (short) {
      const rec = out.state.ipam.networks[short.network.ID]!;
      fail(w.task, new PoolExhaustedError(`no free address in "${rec.ipRange}" of network "${rec.name}"`));
      continue;
    }
    for (const { network } of w.targets) free.set(network.ID, free.get(network.ID)! - 1);
    served.push(w);
  }

  // One batch per network. Cannot run short (counted above); if it did, the tasks on that
  // network fail and the next pass's reconcile releases what they got elsewhere.
  const owners = new Map<string, string[]>();
  for (const w of served) for (const { network } of w.targets) (owners.get(network.ID) ?? owners.set(network.ID, []).get(network.ID)!).push(owner.task(w.task.ID));
  const addressOf = new Map<string, string>(); // `${network}|${owner}` → address
  const broken = new Map<string, unknown>();
  for (const [id, list] of owners) {
    try {
      const r = allocateAddresses(out.state.ipam, id, list);
      out.state = { ...out.state, ipam: r.state };
      list.forEach((o, i) => addressOf.set(`${id}|${o}`, r.addresses[i]!));
    } catch (err) {
      broken.set(id, err);
    }
  }
  for (const w of served) {
    const bad = w.targets.find(({ network }) => broken.has(network.ID));
    if (bad) {
      fail(w.task, broken.get(bad.network.ID));
      continue;
    }
    const attachments = w.targets.map(({ network, aliases }) => attachment(network, addressOf.get(`${network.ID}|${owner.task(w.task.ID)}`)!, aliases));
    // An attachment task's node is fixed (the container's): it skips the scheduler.
    const next = w.service
      ? withState({ ...w.task, Endpoint: structuredClone(w.service.Endpoint!) }, 'pending', { now, message: 'pending task scheduling' })
      : withState({ ...w.task }, 'assigned', { now, message: 'network attachment allocated' });
    if (attachments.length > 0) next.NetworksAttachments = attachments;
    else delete next.NetworksAttachments;
    delete next.Status.Err;
    out.tasks.push(next);
  }
}

/** The network of an attachment task: the one of its spec, which must be an allocated, attachable overlay. */
function attachmentTargets(t: Task, nets: Map<string, Network>): TaskWant['targets'] {
  const configs = attachmentConfigs(t.Spec.Networks);
  if (configs.length !== 1) throw new Error(`network attachment task ${t.ID} must name one network (it names ${configs.length})`);
  const network = usable(nets, configs[0]!.Target);
  if (!network.Spec.Attachable || network.Spec.Ingress) throw new Error(`network ${network.Spec.Name} not manually attachable`);
  return [{ network, ...(configs[0]!.Aliases?.length ? { aliases: configs[0]!.Aliases } : {}) }];
}

/**
 * The networks a task attaches to: ingress first when its service publishes an ingress
 * port (so it is eth0, as in Docker), then the networks of its spec (else the service's
 * deprecated `Spec.Networks`) in order, with their aliases. Throws when one is missing or
 * not allocated.
 */
function taskTargets(t: Task, s: Service, nets: Map<string, Network>, ingress: Network | undefined): TaskWant['targets'] {
  const configs = attachmentConfigs(t.Spec.Networks?.length ? t.Spec.Networks : s.Spec.Networks);
  const targets: TaskWant['targets'] = [];
  if (hasIngressPorts(s.Endpoint?.Ports)) {
    if (!ingress) throw new Error(NO_INGRESS);
    targets.push({ network: usable(nets, ingress.ID) });
  }
  for (const c of configs) {
    if (targets.some((x) => x.network.ID === c.Target)) continue;
    targets.push({ network: usable(nets, c.Target), ...(c.Aliases?.length ? { aliases: c.Aliases } : {}) });
  }
  return targets;
}
