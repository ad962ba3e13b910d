// The allocator's pure pass over a simulated store (a "world" of plain objects): what
// it allocates, what it releases, and that a rebuilt state (a new leader) never hands
// out an address held already.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Network, NetworkSpec } from '../../api/types/network.ts';
import type { Node } from '../../api/types/node.ts';
import type { Service, ServiceSpec } from '../../api/types/service.ts';
import type { Task, TaskState } from '../../api/types/task.ts';
import { node, service, task } from '../testing/fixtures.ts';
import { allocatePass, NO_INGRESS, type PassResult } from './allocate.ts';
import { ingressNetworkSpec } from './ingress.ts';
import { rebuildState, reconcileState, type AllocatorInput, type AllocatorState } from './state.ts';

interface World extends AllocatorInput {
  networks: Network[];
  services: Service[];
  tasks: Task[];
  nodes: Node[];
}

function netSpec(name: string, over: Partial<NetworkSpec> = {}): NetworkSpec {
  return {
    Name: name, Labels: {}, Driver: 'overlay', Options: {}, IPAM: { Driver: 'default', Config: [] },
    Attachable: false, Ingress: false, Internal: false, EnableIPv6: false, Scope: 'swarm', ...over,
  };
}
function network(id: string, spec: NetworkSpec, created = 0): Network {
  const at = new Date(created).toISOString();
  return { ID: id, Version: { Index: 1 }, CreatedAt: at, UpdatedAt: at, Spec: spec };
}
function svc(id: string, spec: Partial<ServiceSpec> = {}): Service {
  return service(id, spec);
}
function newTask(id: string, s: Service, state: TaskState = 'new'): Task {
  return task(id, s.ID, { state, spec: structuredClone(s.Spec.TaskTemplate) });
}

function world(over: Partial<World> = {}): World {
  return {
    cluster: { DefaultAddrPool: ['10.0.0.0/8'], SubnetSize: 24 },
    networks: [network('ing', ingressNetworkSpec())],
    services: [], tasks: [], nodes: [],
    ...over,
  };
}

/** Writes a pass's changes into the world, as the store would (version bump). */
function write(w: World, r: PassResult): void {
  const put = <T extends { ID: string; Version: { Index: number } }>(list: T[], changed: T[]) => {
    for (const c of changed) {
      const i = list.findIndex((x) => x.ID === c.ID);
      list[i] = { ...c, Version: { Index: c.Version.Index + 1 } };
    }
  };
  put(w.networks, r.networks);
  put(w.services, r.services);
  put(w.nodes, r.nodes);
  put(w.tasks, r.tasks);
}

/** Runs passes until nothing changes; returns the state. */
function settle(w: World, state?: AllocatorState): { state: AllocatorState; warnings: string[] } {
  let s = state ?? rebuildState(w).state;
  let warnings: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = allocatePass(s, w, { now: 1000 });
    write(w, r);
    s = r.state;
    warnings = r.warnings;
    if (r.networks.length + r.services.length + r.nodes.length + r.tasks.length === 0) return { state: s, warnings };
  }
  throw new Error('allocator did not settle');
}

const get = <T extends { ID: string }>(list: T[], id: string): T => list.find((x) => x.ID === id)!;
const addrs = (t: Task) => t.NetworksAttachments?.map((a) => `${a.Network.Spec.Name}:${a.Addresses[0]}`);

test('networks: ingress takes 10.0.0.0/24, user networks carve from 10.0.1.0/24; VNI, MTU, options', () => {
  const w = world({
    networks: [
      network('ing', ingressNetworkSpec()),
      network('n1', netSpec('front'), 1),
      network('n2', netSpec('back', { Options: { 'com.docker.network.driver.mtu': '1400', 'com.docker.network.driver.overlay.vxlanid_list': '7000' } }), 2),
      network('n3', netSpec('fixed', { IPAM: { Driver: 'default', Config: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.254', IPRange: '10.0.1.128/25' }] } }), 3),
    ],
  });
  settle(w);
  assert.equal(get(w.networks, 'ing').Allocation, { Subnet: '10.0.0.0/24', Gateway: '10.0.0.1', IPRange: '10.0.0.0/24', VNI: 4096, MTU: 1450 });
  // The explicit subnet is allocated before carved ones, so "front" does not take it.
  assert.equal(get(w.networks, 'n3').Allocation, { Subnet: '10.0.1.0/24', Gateway: '10.0.1.254', IPRange: '10.0.1.128/25', VNI: 4097, MTU: 1450 });
  assert.equal(get(w.networks, 'n1').Allocation, { Subnet: '10.0.2.0/24', Gateway: '10.0.2.1', IPRange: '10.0.2.0/24', VNI: 4098, MTU: 1450 });
  assert.equal(get(w.networks, 'n2').Allocation, { Subnet: '10.0.3.0/24', Gateway: '10.0.3.1', IPRange: '10.0.3.0/24', VNI: 7000, MTU: 1400 });
});

test('networks: a custom default pool and subnet size; a network that cannot be allocated is a warning, retried', () => {
  const w = world({
    cluster: { DefaultAddrPool: ['172.30.0.0/23'], SubnetSize: 24 },
    networks: [network('ing', ingressNetworkSpec(['172.30.0.0/23'])), network('a', netSpec('a'), 1), network('b', netSpec('b'), 2)],
  });
  const { state, warnings } = settle(w);
  assert.is(get(w.networks, 'ing').Allocation!.Subnet, '172.30.0.0/24');
  assert.is(get(w.networks, 'a').Allocation!.Subnet, '172.30.1.0/24');
  assert.is(get(w.networks, 'b').Allocation, undefined);
  assert.match(warnings.join('\n'), /network "b" \(b\) not allocated: pool exhausted/);
  // Network "a" deleted: its subnet is free again and "b" gets it on the next pass.
  w.networks = w.networks.filter((n) => n.ID !== 'a');
  settle(w, state);
  assert.is(get(w.networks, 'b').Allocation!.Subnet, '172.30.1.0/24');
});

test('services: VIP per network with ingress first, dynamic ports from 30000, unique per protocol', () => {
  const w = world({ networks: [network('ing', ingressNetworkSpec()), network('n1', netSpec('front'), 1)] });
  const web = svc('web', {
    TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'n1', Aliases: ['www'] }] },
    EndpointSpec: { Ports: [{ TargetPort: 80 }, { TargetPort: 53, Protocol: 'udp' }, { TargetPort: 443, PublishedPort: 8443 }] },
  });
  const api = svc('api', { EndpointSpec: { Ports: [{ TargetPort: 80 }, { TargetPort: 81, PublishMode: 'host', PublishedPort: 9000 }] } });
  const back = svc('back', { TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'n1' }] } });
  w.services.push(web, api, back);
  settle(w);
  const e = get(w.services, 'web').Endpoint!;
  assert.equal(e.Ports, [
    { Protocol: 'tcp', TargetPort: 80, PublishedPort: 30001, PublishMode: 'ingress' },
    { Protocol: 'udp', TargetPort: 53, PublishedPort: 30000, PublishMode: 'ingress' },
    { Protocol: 'tcp', TargetPort: 443, PublishedPort: 8443, PublishMode: 'ingress' },
  ]);
  assert.equal(e.VirtualIPs, [{ NetworkID: 'ing', Addr: '10.0.0.3/24' }, { NetworkID: 'n1', Addr: '10.0.1.3/24' }]);
  assert.equal(e.Spec, web.Spec.EndpointSpec);
  // api (sorted first) took tcp/30000; host-mode ports pass through and need no ingress VIP of their own.
  assert.equal(get(w.services, 'api').Endpoint!.Ports, [
    { Protocol: 'tcp', TargetPort: 80, PublishedPort: 30000, PublishMode: 'ingress' },
    { Protocol: 'tcp', TargetPort: 81, PublishedPort: 9000, PublishMode: 'host' },
  ]);
  assert.equal(get(w.services, 'api').Endpoint!.VirtualIPs, [{ NetworkID: 'ing', Addr: '10.0.0.2/24' }]);
  assert.equal(get(w.services, 'back').Endpoint, { Spec: {}, VirtualIPs: [{ NetworkID: 'n1', Addr: '10.0.1.2/24' }] });
});

test('services: an update keeps dynamic ports and VIPs, releases what is gone; dnsrr has no VIP; delete releases', () => {
  const w = world({ networks: [network('ing', ingressNetworkSpec()), network('n1', netSpec('front'), 1), network('n2', netSpec('back'), 2)] });
  const web = svc('web', {
    TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'n1' }] },
    EndpointSpec: { Ports: [{ TargetPort: 80 }, { TargetPort: 81 }] },
  });
  w.services.push(web);
  let { state } = settle(w);
  assert.equal(get(w.services, 'web').Endpoint!.Ports!.map((p) => p.PublishedPort), [30000, 30001]);
  // Update: drop port 80, keep 81 dynamic, move from n1 to n2.
  const s1 = get(w.services, 'web');
  w.services[0] = { ...s1, Spec: { ...s1.Spec, TaskTemplate: { ...s1.Spec.TaskTemplate, Networks: [{ Target: 'n2' }] }, EndpointSpec: { Ports: [{ TargetPort: 81 }] } } };
  ({ state } = settle(w, state));
  const e = get(w.services, 'web').Endpoint!;
  assert.equal(e.Ports!.map((p) => p.PublishedPort), [30001]);
  assert.equal(e.VirtualIPs, [{ NetworkID: 'ing', Addr: '10.0.0.2/24' }, { NetworkID: 'n2', Addr: '10.0.2.2/24' }]);
  assert.equal(state.ports.ports, { 'tcp/30001': 'web' });
  assert.not.ok(Object.values(state.ipam.networks.n1!.addresses).includes('vip:web'));
  // dnsrr: no VIPs at all.
  const s2 = get(w.services, 'web');
  w.services[0] = { ...s2, Spec: { ...s2.Spec, EndpointSpec: { Mode: 'dnsrr' } } };
  ({ state } = settle(w, state));
  assert.equal(get(w.services, 'web').Endpoint, { Spec: { Mode: 'dnsrr' } });
  assert.equal(state.ports.ports, {});
  // Deleted: everything of it released.
  w.services = [];
  state = allocatePass(state, w, { now: 0 }).state;
  for (const n of Object.values(state.ipam.networks)) assert.equal(Object.values(n.addresses), ['gateway']);
});

test('services: a published port held by another service is refused with Docker\'s message; no ingress network', () => {
  const w = world();
  const a = svc('a', { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } });
  w.services.push(a);
  let { state } = settle(w);
  const b = svc('b', { Name: 'bee', EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } });
  const t = newTask('tb', b);
  w.services.push(b);
  w.tasks.push(t);
  let r = settle(w, state);
  state = r.state;
  assert.match(r.warnings.join('\n'), /service "bee" \(b\): port '8080' is already in use by service 'a' \(a\) as an ingress port/);
  assert.is(get(w.services, 'b').Endpoint, undefined);
  assert.is(get(w.tasks, 'tb').Status.State, 'new');
  assert.match(get(w.tasks, 'tb').Status.Err!, /port '8080' is already in use by service 'a'/);
  // No ingress network: Docker's refusal; tasks wait with the reason.
  w.networks = [];
  const c = svc('c', { EndpointSpec: { Ports: [{ TargetPort: 80 }] } });
  w.services.push(c);
  w.tasks.push(newTask('tc', c));
  r = settle(w, state);
  assert.is(get(w.tasks, 'tc').Status.Err, NO_INGRESS);
});

test('tasks: attachments with ingress first, aliases, endpoint copied, moved to pending; no networks → pending too', () => {
  const w = world({ networks: [network('ing', ingressNetworkSpec()), network('n1', netSpec('front'), 1), network('n2', netSpec('back'), 2)] });
  const web = svc('web', {
    TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'n2' }, { Target: 'n1', Aliases: ['www'] }] },
    EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] },
  });
  const plain = svc('plain');
  w.services.push(web, plain);
  w.tasks.push(newTask('t1', web), newTask('t2', web), newTask('p1', plain), newTask('gone', web, 'new'));
  w.tasks[3] = { ...w.tasks[3]!, DesiredState: 'shutdown' };
  settle(w);
  const t1 = get(w.tasks, 't1');
  assert.is(t1.Status.State, 'pending');
  assert.is(t1.Status.Message, 'pending task scheduling');
  assert.equal(addrs(t1), ['ingress:10.0.0.3/24', 'back:10.0.2.3/24', 'front:10.0.1.3/24']);
  assert.equal(t1.NetworksAttachments![2]!.Aliases, ['www']);
  assert.equal(t1.NetworksAttachments![0]!.Network.Allocation, get(w.networks, 'ing').Allocation);
  assert.equal(t1.NetworksAttachments![1]!.Network.Spec, get(w.networks, 'n2').Spec);
  assert.equal(t1.Endpoint, get(w.services, 'web').Endpoint);
  assert.equal(addrs(get(w.tasks, 't2')), ['ingress:10.0.0.4/24', 'back:10.0.2.4/24', 'front:10.0.1.4/24']);
  const p1 = get(w.tasks, 'p1');
  assert.is(p1.Status.State, 'pending');
  assert.is(p1.NetworksAttachments, undefined);
  assert.equal(p1.Endpoint, { Spec: {} });
  assert.is(get(w.tasks, 'gone').Status.State, 'new');
});

test('tasks: addresses released on terminal state or deletion, not reused until the range wraps', () => {
  const w = world({ networks: [network('ing', ingressNetworkSpec()), network('n1', netSpec('small', { IPAM: { Driver: 'default', Config: [{ Subnet: '10.9.0.0/29' }] } }), 1)] });
  const s = svc('s', { TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'n1' }] } });
  w.services.push(s);
  w.tasks.push(newTask('t1', s), newTask('t2', s));
  let { state } = settle(w); // .1 gateway, VIP .2, t1 .3, t2 .4
  assert.equal([addrs(get(w.tasks, 't1')), addrs(get(w.tasks, 't2'))], [['small:10.9.0.3/29'], ['small:10.9.0.4/29']]);
  // t1 fails (terminal): released; a new task gets .5, not .3.
  w.tasks = w.tasks.map((t) => (t.ID === 't1' ? { ...t, Status: { ...t.Status, State: 'failed' } } : t));
  w.tasks.push(newTask('t3', s));
  ({ state } = settle(w, state));
  assert.equal(addrs(get(w.tasks, 't3')), ['small:10.9.0.5/29']);
  assert.not.ok(state.ipam.networks.n1!.addresses['10.9.0.3']);
  // t2 deleted; the next ones get .6 then wrap to .3 and .4.
  w.tasks = w.tasks.filter((t) => t.ID !== 't2');
  w.tasks.push(newTask('t4', s), newTask('t5', s), newTask('t6', s));
  ({ state } = settle(w, state));
  assert.equal(['t4', 't5', 't6'].map((id) => addrs(get(w.tasks, id))), [['small:10.9.0.6/29'], ['small:10.9.0.3/29'], ['small:10.9.0.4/29']]);
  // Exhausted (.2-.6 of a /29 held): the next task stays new with a clear error.
  w.tasks.push(newTask('t7', s));
  settle(w, state);
  const t7 = get(w.tasks, 't7');
  assert.is(t7.Status.State, 'new');
  assert.match(t7.Status.Err!, /pool exhausted: no free address in "10.9.0.0\/29" of network "small"/);
});

test('tasks: a task short of an address on one network takes none on the others', () => {
  const w = world({
    networks: [
      network('ing', ingressNetworkSpec()),
      network('big', netSpec('big'), 1),
      network('tiny', netSpec('tiny', { IPAM: { Driver: 'default', Config: [{ Subnet: '10.9.0.0/30' }] } }), 2), // one host: .2 (the gateway is .1)
    ],
  });
  const both = svc('both', { TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'big' }, { Target: 'tiny' }] }, EndpointSpec: { Mode: 'dnsrr' } });
  const one = svc('one', { TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'big' }] }, EndpointSpec: { Mode: 'dnsrr' } });
  w.services.push(both, one);
  w.tasks.push(newTask('a1', both), newTask('a2', both), newTask('b1', one));
  const { state } = settle(w);
  assert.equal(addrs(get(w.tasks, 'a1')), ['big:10.0.1.2/24', 'tiny:10.9.0.2/30']);
  assert.is(get(w.tasks, 'a2').Status.State, 'new');
  assert.match(get(w.tasks, 'a2').Status.Err!, /^pool exhausted: no free address in "10.9.0.0\/30" of network "tiny"$/);
  assert.equal(addrs(get(w.tasks, 'b1')), ['big:10.0.1.3/24']);
  assert.not.ok(Object.values(state.ipam.networks.big!.addresses).includes('task:a2'));
});

test('nodes: one ingress address each, released on delete, reallocated when ingress is replaced', () => {
  const w = world({ nodes: [node('a'), node('b')] });
  let { state } = settle(w);
  assert.equal(get(w.nodes, 'a').Attachments!.map((x) => [x.Network.ID, x.Addresses]), [['ing', ['10.0.0.2/24']]]);
  assert.equal(get(w.nodes, 'b').Attachments!.map((x) => x.Addresses[0]), ['10.0.0.3/24']);
  w.nodes = w.nodes.filter((n) => n.ID !== 'b');
  w.nodes.push(node('c'));
  ({ state } = settle(w, state));
  assert.equal(get(w.nodes, 'c').Attachments![0]!.Addresses, ['10.0.0.4/24']);
  assert.not.ok(state.ipam.networks.ing!.addresses['10.0.0.3']);
  // Ingress replaced: the new one (carved 10.0.1.0/24 as the old subnet is still... gone) gets fresh node addresses.
  w.networks = [network('ing2', { ...ingressNetworkSpec(['10.0.0.0/8']), IPAM: { Driver: 'default', Config: [{ Subnet: '10.0.9.0/24' }] } }, 5)];
  ({ state } = settle(w, state));
  assert.equal(get(w.nodes, 'a').Attachments!.map((x) => [x.Network.ID, x.Addresses[0]]), [['ing2', '10.0.9.2/24']]);
  assert.equal(get(w.nodes, 'c').Attachments!.map((x) => [x.Network.ID, x.Addresses[0]]), [['ing2', '10.0.9.3/24']]);
  // No ingress at all: attachments removed.
  w.networks = [];
  settle(w, state);
  assert.is(get(w.nodes, 'a').Attachments, undefined);
});

test('nodes past an exhausted ingress pool each get its warning; a node that frees its address lets the next one in', () => {
  // A /29 ingress: 6 hosts, one the gateway, so five nodes get an address.
  const ing = network('ing', { ...ingressNetworkSpec(), IPAM: { Driver: 'default', Config: [{ Subnet: '10.0.0.0/29' }] } });
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  const w = world({ networks: [ing], nodes: names.map((n) => node(n)) });
  let { state, warnings } = settle(w);
  const withAddr = w.nodes.filter((n) => n.Attachments?.length).map((n) => n.ID);
  assert.equal(withAddr, ['a', 'b', 'c', 'd', 'e']);
  assert.equal(warnings.map((x) => x.replace(/:.*/, '')), ['node f', 'node g', 'node h']);
  assert.ok(warnings.every((x) => /pool exhausted: no free address/.test(x)), warnings.join('\n'));
  w.nodes = w.nodes.filter((n) => n.ID !== 'b');
  ({ state, warnings } = settle(w, state));
  assert.equal(w.nodes.filter((n) => n.Attachments?.length).map((n) => n.ID), ['a', 'c', 'd', 'e', 'f']);
  assert.equal(warnings.map((x) => x.replace(/:.*/, '')), ['node g', 'node h']);
  assert.ok(state.ipam.networks.ing);
});

/** Every address held in the world's objects, as `network:address` → holder. */
function held(w: World): Map<string, string> {
  const m = new Map<string, string>();
  const add = (net: string, a: string, who: string) => {
    const k = `${net}:${a}`;
    assert.not.ok(m.has(k), `${k} held by ${m.get(k)} and ${who}`);
    m.set(k, who);
  };
  for (const s of w.services) for (const v of s.Endpoint?.VirtualIPs ?? []) add(v.NetworkID, v.Addr, s.ID);
  for (const n of w.nodes) for (const a of n.Attachments ?? []) add(a.Network.ID, a.Addresses[0]!, n.ID);
  for (const t of w.tasks) {
    if (['complete', 'failed', 'shutdown', 'rejected', 'remove', 'orphaned'].includes(t.Status.State)) continue;
    for (const a of t.NetworksAttachments ?? []) add(a.Network.ID, a.Addresses[0]!, t.ID);
  }
  return m;
}

test('rebuild equals the incremental state (but for cursors), and a new leader never gives an address twice', () => {
  const w = world({ networks: [network('ing', ingressNetworkSpec()), network('n1', netSpec('front'), 1)], nodes: [node('a'), node('b')] });
  const web = svc('web', { TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'n1' }] }, EndpointSpec: { Ports: [{ TargetPort: 80 }] } });
  w.services.push(web);
  let state = settle(w).state;
  let n = 0;
  // Churn: tasks come, some end, some are deleted; after each round a "new leader" rebuilds.
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 4; i++) w.tasks.push(newTask(`t${n++}`, web));
    state = settle(w, state).state;
    w.tasks = w.tasks.map((t, i) => (i % 3 === round % 3 && t.Status.State === 'pending' ? { ...t, Status: { ...t.Status, State: 'complete' as const } } : t));
    w.tasks = w.tasks.filter((_, i) => i % 5 !== 4);
    state = allocatePass(state, w, { now: 0 }).state;
    const rebuilt = rebuildState(w).state;
    const strip = (s: AllocatorState) => ({
      ports: s.ports, pools: s.ipam.pools,
      networks: Object.fromEntries(Object.entries(s.ipam.networks).map(([id, r]) => [id, { ...r, cursor: '' }])),
    });
    assert.equal(strip(rebuilt), strip(state), `round ${round}`);
    // Alternate: continue with the rebuilt state (a leader change) every other round.
    if (round % 2 === 1) state = rebuilt;
    held(w); // asserts no address is held twice
  }
  // The rebuilt cursor sits at the highest held address: a fresh task gets the next one up.
  const top = Math.max(...[...held(w).keys()].filter((k) => k.startsWith('n1:')).map((k) => Number(k.split('/')[0]!.split('.')[3])));
  w.tasks.push(newTask('fresh', web));
  settle(w, rebuildState(w).state);
  assert.equal(addrs(get(w.tasks, 'fresh'))![1], `front:10.0.1.${top + 1}/24`);
  held(w);
});

test('reconcile: a conflict in the store keeps the first holder and warns; unknown networks are ignored', () => {
  const w = world({ nodes: [node('a')] });
  const { state } = settle(w);
  const a = get(w.nodes, 'a');
  const b = { ...node('b'), Attachments: structuredClone(a.Attachments) };
  const stray = { ...node('c'), Attachments: [{ Network: { ID: 'nope', Spec: { Name: 'nope' } }, Addresses: ['10.99.0.2/24'] }] };
  w.nodes.push(b, stray);
  const r = reconcileState(state, w);
  assert.match(r.warnings.join('\n'), /address 10.0.0.2 on network ing held by both node:a and node:b; keeping node:a/);
  assert.is(r.state.ipam.networks.ing!.addresses['10.0.0.2'], 'node:a');
});

test.run();
