/**
 * `/networks…` of the control API (Docker Engine API v1.41), for swarm-scoped overlay
 * networks: create, list (filters), inspect by ID, name or ID prefix, and delete.
 *
 * A network is stored without `Allocation`; the leader's allocator fills it in (subnet,
 * gateway, VNI, MTU). Docker's create answers once the network exists with its subnet,
 * so the create handler waits a little for the allocation before it answers. The
 * response renders Docker's NetworkResource; `Containers` (this node's endpoints) come
 * from the local data plane through `LocalNetworkInfo`, `Peers` from the store.
 */
import type { Router } from '../../common/router.ts';
import { networkEncryption, type LocalTunnel, type NetworkEncryption } from './network-encryption.ts';
import { sendJson } from '../../common/router.ts';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../api/errors.ts';
import { VXLAN_ID_OPTION, type Network } from '../../api/types/network.ts';
import type { Service } from '../../api/types/service.ts';
import { TASK_STATES, isTerminal, type Task } from '../../api/types/task.ts';
import { networkSpecFromRequest } from '../../api/spec/network-spec.ts';
import type { MemoryStore, ReadTx } from '../../store/index.ts';
import { checkNetworkRequest } from '../../manager/allocator/index.ts';
import { filterValues, readBarrier, requireManager, matchLabels, type SwarmRef } from './lookup.ts';

/** One endpoint of a local task on a network, as the node's data plane knows it. */
export interface LocalEndpoint {
  taskId: string;
  /** The container's name (Docker shows it in `Containers`). */
  name: string;
  /** `A.B.C.D/N` (a bare address gets the network's prefix length). */
  ip: string;
  mac: string;
  /** The endpoint's ID; the task ID when the data plane has none. */
  endpointId?: string;
}

/** What the routes need of this node's data plane: its endpoints on a network. */
export interface LocalNetworkInfo {
  endpoints(networkId: string): LocalEndpoint[];
  /** This node's WireGuard tunnel (encrypted overlays), when it has one. */
  wireguard?(): LocalTunnel | undefined;
}

/** A data plane that has no endpoints (until the real one is connected). */
export const NO_LOCAL_ENDPOINTS: LocalNetworkInfo = { endpoints: () => [] };

/** Docker's NetworkResource, as `GET /networks/{id}` answers. */
export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'swarm';
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string>; Config: { Subnet?: string; Gateway?: string; IPRange?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  Peers: { Name: string; IP: string }[];
  /** Shoal extension, encrypted networks only: see `network-encryption.ts`. */
  ShoalEncryption?: NetworkEncryption;
}

/** How long `POST /networks/create` waits for the allocator before answering anyway. */
const ALLOCATION_WAIT_MS = 2000;
const ASSIGNED = TASK_STATES.indexOf('assigned');

/** Whether a task still holds its addresses (the allocator's rule: until it has ended). */
function holdsAttachment(t: Task): boolean {
  if (isTerminal(t.Status.State)) return false;
  // Never sent to a node and no longer wanted: the reaper deletes it, nothing runs it.
  return !(t.DesiredState === 'remove' && TASK_STATES.indexOf(t.Status.State) < ASSIGNED);
}

function attachedTo(t: Task, networkId: string): boolean {
  return (t.NetworksAttachments ?? []).some((a) => a.Network.ID === networkId);
}

/** The network IDs a service's spec names (TaskTemplate.Networks and the deprecated Spec.Networks). */
export function serviceNetworkIds(s: Service): string[] {
  return [...(s.Spec.TaskTemplate.Networks ?? []), ...(s.Spec.Networks ?? [])].map((n) => n.Target);
}

/** Whether a service publishes a port through the routing mesh (it then needs the ingress network). */
export function usesIngress(s: Service): boolean {
  return (s.Spec.EndpointSpec?.Ports ?? []).some((p) => (p.PublishMode ?? 'ingress') === 'ingress');
}

/** The swarm's ingress network, if there is one. */
export function ingressNetwork(tx: ReadTx): Network | undefined {
  return tx.list('network', (n) => n.Spec.Ingress).at(0);
}

/** The network named by full ID, name, or unique ID prefix (Docker's order). */
export function resolveNetwork(tx: ReadTx, ref: string): Network {
  const byId = tx.get('network', ref);
  if (byId) return byId;
  const byName = tx.getByName('network', ref);
  if (byName) return byName;
  const byPrefix = ref ? tx.list('network', (n) => n.ID.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0];
  if (byPrefix.length > 1) throw new ConflictError(`network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
  throw new NotFoundError(`network ${ref} not found`);
}

/** Nodes that take part in a network: every node for ingress, else those running a task on it. */
export function networkPeers(tx: ReadTx, n: Network): { Name: string; IP: string }[] {
  let nodes = tx.list('node');
  if (!n.Spec.Ingress) {
    const ids = new Set(tx.list('task', (t) => !!t.NodeID && holdsAttachment(t) && attachedTo(t, n.ID)).map((t) => t.NodeID!));
    nodes = nodes.filter((x) => ids.has(x.ID));
  }
  return nodes.map((x) => ({ Name: x.Description.Hostname, IP: x.Status.Addr }));
}

/** Why a network cannot be deleted now, or undefined when it can (checked inside the deleting transaction). */
export function deleteRefusal(tx: ReadTx, n: Network): string | undefined {
  const services = tx.list('service');
  if (n.Spec.Ingress) {
    // Docker's rule: ingress goes only when no service publishes a port through it.
    const user = services.find(usesIngress);
    if (user) return `ingress network cannot be removed because service ${user.Spec.Name} (${user.ID}) depends on it`;
  }
  const svc = services.find((s) => serviceNetworkIds(s).includes(n.ID));
  if (svc) return `network ${n.Spec.Name} is in use by service ${svc.Spec.Name} (${svc.ID})`;
  const task = tx.list('task', (t) => holdsAttachment(t) && attachedTo(t, n.ID)).at(0);
  if (task) return `network ${n.Spec.Name} is in use by task ${task.ID}`;
  return undefined;
}

/**
 * Whether the only thing keeping `n` is tasks on their way out (wanted past running, as
 * after their service was removed). Docker removes such a network at once (docker stack
 * rm removes a stack's networks right after its services); Shoal waits for those tasks.
 */
function blockedOnlyByLeavingTasks(tx: ReadTx, n: Network): boolean {
  if (n.Spec.Ingress || tx.list('service').some((s) => serviceNetworkIds(s).includes(n.ID))) return false;
  const tasks = tx.list('task', (t) => holdsAttachment(t) && attachedTo(t, n.ID));
  return tasks.length > 0 && tasks.every((t) => TASK_STATES.indexOf(t.DesiredState) > TASK_STATES.indexOf('running'));
}

/** How long a network removal waits for leaving tasks to end before it is refused (ms). */
const LEAVING_TASKS_WAIT_MS = 30_000;

function withPrefix(ip: string, subnet: string | undefined): string {
  if (ip.includes('/')) return ip;
  const bits = subnet?.split('/')[1];
  return bits ? `${ip}/${bits}` : ip;
}

/** Docker's NetworkResource for a stored network, this node's endpoints and the peers. */
export function renderNetwork(n: Network, endpoints: LocalEndpoint[], peers: { Name: string; IP: string }[]): NetworkResource {
  const a = n.Allocation;
  const asked = n.Spec.IPAM.Config[0];
  const config = a
    ? [{ Subnet: a.Subnet, Gateway: a.Gateway, ...(a.IPRange && a.IPRange !== a.Subnet ? { IPRange: a.IPRange } : {}) }]
    : n.Spec.IPAM.Config.map((c) => ({ ...(c.Subnet ? { Subnet: c.Subnet } : {}), ...(c.Gateway ? { Gateway: c.Gateway } : {}), ...(c.IPRange ? { IPRange: c.IPRange } : {}) }));
  const subnet = a?.Subnet ?? asked?.Subnet;
  return {
    Name: n.Spec.Name,
    Id: n.ID,
    Created: n.CreatedAt,
    Scope: 'swarm',
    Driver: n.Spec.Driver || 'overlay',
    EnableIPv6: n.Spec.EnableIPv6,
    IPAM: { Driver: n.Spec.IPAM.Driver || 'default', Options: n.Spec.IPAM.Options ?? {}, Config: config },
    Internal: n.Spec.Internal,
    Attachable: n.Spec.Attachable,
    Ingress: n.Spec.Ingress,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(
      endpoints.map((e) => [e.taskId, { Name: e.name, EndpointID: e.endpointId ?? e.taskId, MacAddress: e.mac, IPv4Address: withPrefix(e.ip, subnet), IPv6Address: '' }]),
    ),
    Options: { ...n.Spec.Options, ...(a ? { [VXLAN_ID_OPTION]: String(a.VNI) } : {}) },
    Labels: n.Spec.Labels,
    Peers: peers,
  };
}

/** `r` with the `ShoalEncryption` field when `n` is encrypted. */
function withEncryption(tx: ReadTx, n: Network, r: NetworkResource, local: LocalNetworkInfo): NetworkResource {
  const enc = networkEncryption(tx, n, r.Peers, local.wireguard?.());
  return enc ? { ...r, ShoalEncryption: enc } : r;
}

/** Docker's list filters match names and IDs as regular expressions (`filters.Match`). */
function regexMatch(patterns: string[], value: string): boolean {
  return patterns.some((p) => {
    try {
      return new RegExp(p).test(value);
    } catch {
      return value.includes(p);
    }
  });
}

const FILTER_KEYS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'];

/** Checks the filter keys and values before anything is listed (Docker's errors). */
function checkFilters(filters: Map<string, string[]>): void {
  for (const k of filters.keys()) if (!FILTER_KEYS.includes(k)) throw new InvalidArgumentError(`invalid filter '${k}'`);
  for (const t of filters.get('type') ?? []) if (t !== 'custom' && t !== 'builtin') throw new InvalidArgumentError(`invalid filter 'type=${t}'`);
  for (const d of filters.get('dangling') ?? []) {
    if (!['true', 'false', '1', '0'].includes(d.toLowerCase())) throw new InvalidArgumentError(`invalid filter 'dangling=${d}'`);
  }
}

function matches(n: Network, filters: Map<string, string[]>, inUse: (n: Network) => boolean): boolean {
  const f = (k: string) => filters.get(k);
  if (f('name') && !regexMatch(f('name')!, n.Spec.Name)) return false;
  if (f('id') && !regexMatch(f('id')!, n.ID)) return false;
  if (f('driver') && !f('driver')!.includes(n.Spec.Driver || 'overlay')) return false;
  if (f('scope') && !f('scope')!.includes('swarm')) return false;
  // Every swarm network is user-made ("custom"); builtin ones are the host's bridge/host/none.
  if (f('type') && !f('type')!.includes('custom')) return false;
  if (f('label') && !matchLabels(n.Spec.Labels, f('label')!)) return false;
  const dangling = f('dangling');
  if (dangling) {
    const want = ['true', '1'].includes(dangling[0].toLowerCase());
    if (want === inUse(n)) return false;
  }
  return true;
}

/**
 * Resolves once network `id` has its allocation, or after `ms` (whichever first), woken by
 * the store's watch rather than polling: the allocator's write answers the request at once.
 */
function allocated(store: Pick<MemoryStore, 'subscribe' | 'view'>, id: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let over = false;
    // Called only after `unsubscribe` is set (from a timer, setImmediate, or below).
    const done = () => { if (over) return; over = true; clearTimeout(timer); unsubscribe(); resolve(); };
    const timer = setTimeout(done, ms);
    const unsubscribe = store.subscribe((e) => {
      if (e.kind === 'network.updated' && e.object.ID === id && e.object.Allocation) setImmediate(done);
    }, { kinds: ['network'], commits: false, onClose: () => setImmediate(done) });
    // Subscribed first, then looked: an allocation written in between is not missed.
    if (store.view((tx) => tx.get('network', id))?.Allocation) done();
  });
}

export interface NetworkRouteOptions {
  /** How long create waits for the allocation (ms; default 2000). */
  allocationWaitMs?: number;
}

export function addNetworkRoutes(router: Router, swarm: SwarmRef, local: LocalNetworkInfo = NO_LOCAL_ENDPOINTS, opts: NetworkRouteOptions = {}): void {
  const waitMs = opts.allocationWaitMs ?? ALLOCATION_WAIT_MS;

  router.post('/networks/create', async (ctx) => {
    const manager = requireManager(swarm);
    const spec = networkSpecFromRequest(await ctx.body());
    const { value: created } = await manager.store.update((tx) => {
      if (tx.getByName('network', spec.Name)) throw new ConflictError(`network with name ${spec.Name} already exists`);
      if (spec.Ingress) {
        const ingress = ingressNetwork(tx);
        if (ingress) throw new ConflictError(`ingress network (${ingress.ID}) is already present`);
      }
      checkNetworkRequest(tx.list('network'), spec, tx.list('cluster').at(0));
      return tx.create('network', { Spec: spec });
    });
    // Docker's create is synchronous: give the allocator a moment so an inspect right
    // after shows the subnet. Not allocated in time is fine: it will be.
    await allocated(manager.store, created.ID, waitMs);
    sendJson(ctx.res, 201, { Id: created.ID, Warning: '' });
  });

  router.get('/networks', async (ctx) => {
    const manager = requireManager(swarm);
    const filters = filterValues(ctx.query);
    checkFilters(filters);
    await readBarrier(manager, ctx.res);
    return manager.store.view((tx) => {
      const inUse = (n: Network) => n.Spec.Ingress || deleteRefusal(tx, n) !== undefined;
      return tx.list('network', (n) => matches(n, filters, inUse)).map((n) => withEncryption(tx, n, renderNetwork(n, local.endpoints(n.ID), networkPeers(tx, n)), local));
    });
  });

  router.get('/networks/:id', async (ctx) => {
    const manager = requireManager(swarm);
    const scope = ctx.query.get('scope');
    await readBarrier(manager, ctx.res);
    return manager.store.view((tx) => {
      const n = resolveNetwork(tx, ctx.params.id);
      // Docker looks in the asked scope only; every Shoal network is swarm-scoped.
      if (scope && scope !== 'swarm') throw new NotFoundError(`network ${ctx.params.id} not found`);
      return withEncryption(tx, n, renderNetwork(n, local.endpoints(n.ID), networkPeers(tx, n)), local);
    });
  });

  router.delete('/networks/:id', async (ctx) => {
    const manager = requireManager(swarm);
    // A network is never deleted under a live attachment: tasks that are only stopping are
    // waited for (bounded), so the removal succeeds as Docker's does.
    const deadline = Date.now() + LEAVING_TASKS_WAIT_MS;
    // A network this manager does not know yet is left to the transaction, whose refusal
    // is confirmed through a read barrier (this manager's state may be stale).
    const waitable = () => manager.store.view((tx) => {
      try {
        return blockedOnlyByLeavingTasks(tx, resolveNetwork(tx, ctx.params.id));
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
      }
    });
    while (Date.now() < deadline && waitable()) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await manager.store.update((tx) => {
      const n = resolveNetwork(tx, ctx.params.id);
      const refusal = deleteRefusal(tx, n);
      if (refusal) throw new ConflictError(refusal);
      tx.delete('network', n.ID);
    });
    ctx.res.writeHead(204).end();
  });
}
