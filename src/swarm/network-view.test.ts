import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task, TaskState } from '../api/types/task.ts';
import type { Network } from '../api/types/network.ts';
import type { Node } from '../api/types/node.ts';
import type { Service, PortConfig } from '../api/types/service.ts';
import { affectsViews, computeNetworkViews } from './network-view.ts';
import { taskName } from '../common/task-name.ts';

const meta = { Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '' };

function network(id: string, subnet: string, vni: number, ingress = false): Network {
  const base = subnet.replace(/\.0\/24$/, '');
  return {
    ID: id, ...meta,
    Spec: { Name: id, Labels: {}, Driver: 'overlay', Options: {}, IPAM: { Driver: 'default', Config: [] }, Attachable: false, Ingress: ingress, Internal: false, EnableIPv6: false, Scope: 'swarm' },
    Allocation: { Subnet: subnet, Gateway: `${base}.1`, IPRange: subnet, VNI: vni, MTU: 1450 },
  };
}

function node(id: string, addr: string, ingressIp?: string): Node {
  return {
    ID: id, ...meta,
    Spec: { Role: 'worker', Availability: 'active', Labels: {} },
    Description: { Hostname: id },
    Status: { State: 'ready', Addr: addr },
    ...(ingressIp ? { Attachments: [{ Network: { ID: 'ingress', Spec: { Name: 'ingress' } }, Addresses: [`${ingressIp}/24`] }] } : {}),
  } as Node;
}

function service(id: string, nets: { id: string; aliases?: string[] }[], opts: { mode?: 'vip' | 'dnsrr'; vips?: Record<string, string>; ports?: PortConfig[] } = {}): Service {
  return {
    ID: id, ...meta,
    Spec: {
      Name: id, Labels: {},
      TaskTemplate: { ContainerSpec: { Image: 'bb' }, Networks: nets.map((n) => ({ Target: n.id, ...(n.aliases ? { Aliases: n.aliases } : {}) })) },
      EndpointSpec: { Mode: opts.mode ?? 'vip', ...(opts.ports ? { Ports: opts.ports } : {}) },
    },
    Endpoint: {
      Spec: { Mode: opts.mode ?? 'vip' },
      ...(opts.ports ? { Ports: opts.ports } : {}),
      VirtualIPs: Object.entries(opts.vips ?? {}).map(([NetworkID, ip]) => ({ NetworkID, Addr: `${ip}/24` })),
    },
  } as Service;
}

function task(id: string, svc: string, nodeId: string, addrs: Record<string, string>, state: TaskState = 'running', desired: TaskState = 'running'): Task {
  return {
    ID: id, ...meta, Labels: {}, Spec: { ContainerSpec: { Image: 'bb' } }, ServiceID: svc, Slot: 1, NodeID: nodeId,
    ServiceAnnotations: { Name: svc, Labels: {} },
    Status: { Timestamp: '', State: state, Message: '' }, DesiredState: desired,
    NetworksAttachments: Object.entries(addrs).map(([nid, ip]) => ({ Network: { ID: nid, Spec: { Name: nid } }, Addresses: [`${ip}/24`] })),
  };
}

const nodes = [node('n1', '192.168.100.11'), node('n2', '192.168.100.12'), node('n3', '192.168.100.13')];

test('a node gets the networks of its live tasks, with every endpoint as a peer', () => {
  const views = computeNetworkViews({
    networks: [network('front', '10.0.1.0/24', 4097), network('back', '10.0.2.0/24', 4098)],
    services: [service('web', [{ id: 'front' }], { vips: { front: '10.0.1.2' } })],
    tasks: [task('t1', 'web', 'n1', { front: '10.0.1.3' }), task('t2', 'web', 'n2', { front: '10.0.1.4' }, 'assigned')],
    nodes,
  });
  const v1 = views.get('n1')!;
  assert.is(v1.vtep, '192.168.100.11');
  assert.equal(v1.networks.map((n) => n.id), ['front']);
  assert.equal(v1.networks[0]!.peers, [
    { ip: '10.0.1.3', mac: '02:42:0a:00:01:03', vtep: '192.168.100.11' },
    { ip: '10.0.1.4', mac: '02:42:0a:00:01:04', vtep: '192.168.100.12' },
  ]);
  assert.equal(views.get('n3')!.networks, [], 'a node without tasks on it has no network');
  assert.is(v1.ingress, undefined);
});

test('only running tasks still wanted are in DNS and VIP rotation', () => {
  const views = computeNetworkViews({
    networks: [network('front', '10.0.1.0/24', 4097)],
    services: [service('web', [{ id: 'front', aliases: ['www'] }], { vips: { front: '10.0.1.2' } })],
    tasks: [
      task('t1', 'web', 'n1', { front: '10.0.1.3' }),
      task('t2', 'web', 'n2', { front: '10.0.1.4' }, 'starting'),
      task('t3', 'web', 'n2', { front: '10.0.1.5' }, 'running', 'shutdown'),
      task('t4', 'web', 'n1', { front: '10.0.1.6' }, 'failed'),
    ],
    nodes,
  });
  const svc = views.get('n1')!.networks[0]!.services[0]!;
  assert.equal(svc, { id: 'web', name: 'web', endpointMode: 'vip', vip: '10.0.1.2', aliases: ['www'], tasks: [{ name: 'web.1.t1', ip: '10.0.1.3' }] });
  const peers = views.get('n1')!.networks[0]!.peers.map((p) => p.ip);
  assert.equal(peers, ['10.0.1.3', '10.0.1.4', '10.0.1.5'], 'a stopping task is still a peer until it ends; an ended one is not');
});

test('a task with a health check is in DNS, VIP and mesh rotation only while healthy', () => {
  const health = (t: Task, Status: 'starting' | 'healthy' | 'unhealthy'): Task => ({ ...t, Status: { ...t.Status, Health: { Status, FailingStreak: 0 } } });
  const ns = [node('n1', '192.168.100.11', '10.0.0.5'), node('n2', '192.168.100.12', '10.0.0.6')];
  const ports: PortConfig[] = [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }];
  const views = computeNetworkViews({
    networks: [network('ingress', '10.0.0.0/24', 4096, true), network('front', '10.0.1.0/24', 4097)],
    services: [service('web', [{ id: 'front' }], { vips: { front: '10.0.1.2' }, ports })],
    tasks: [
      health(task('t1', 'web', 'n1', { front: '10.0.1.3', ingress: '10.0.0.7' }), 'healthy'),
      health(task('t2', 'web', 'n2', { front: '10.0.1.4', ingress: '10.0.0.8' }), 'unhealthy'),
      health(task('t3', 'web', 'n2', { front: '10.0.1.5', ingress: '10.0.0.9' }), 'starting'),
      task('t4', 'web', 'n1', { front: '10.0.1.6', ingress: '10.0.0.10' }),
    ],
    nodes: ns,
  });
  const v = views.get('n2')!;
  assert.equal(v.networks.find((n) => n.id === 'front')!.services[0]!.tasks.map((t) => t.name), ['web.1.t1', 'web.1.t4']);
  assert.equal(v.ingress!.ports[0]!.backends, ['10.0.0.7', '10.0.0.10']);
  const t = task('t1', 'web', 'n1', { front: '10.0.1.3' });
  assert.ok(affectsViews({ kind: 'task.updated', object: health(t, 'unhealthy'), old: health(t, 'healthy') }), 'turning unhealthy leaves the rotation');
});

test('dnsrr services have no VIP', () => {
  const views = computeNetworkViews({
    networks: [network('front', '10.0.1.0/24', 4097)],
    services: [service('rr', [{ id: 'front' }], { mode: 'dnsrr' })],
    tasks: [task('t1', 'rr', 'n1', { front: '10.0.1.3' })],
    nodes,
  });
  const svc = views.get('n1')!.networks[0]!.services[0]!;
  assert.is(svc.endpointMode, 'dnsrr');
  assert.is(svc.vip, undefined);
  assert.equal(svc.tasks.map((t) => t.ip), ['10.0.1.3']);
});

test('a service\'s stop grace reaches the view, for the VIP\'s drain before it resets connections', () => {
  const s = service('slow', [{ id: 'front' }], { vips: { front: '10.0.1.2' } });
  s.Spec.TaskTemplate.ContainerSpec.StopGracePeriod = 45e9;
  const views = computeNetworkViews({ networks: [network('front', '10.0.1.0/24', 4097)], services: [s], tasks: [task('t1', 'slow', 'n1', { front: '10.0.1.3' })], nodes });
  assert.is(views.get('n1')!.networks[0]!.services[0]!.stopGraceMs, 45_000);
});

test('published ingress ports reach every node with an ingress endpoint, with backends on the ingress network', () => {
  const ns = [node('n1', '192.168.100.11', '10.0.0.5'), node('n2', '192.168.100.12', '10.0.0.6'), node('n3', '192.168.100.13')];
  const views = computeNetworkViews({
    networks: [network('ingress', '10.0.0.0/24', 4096, true), network('front', '10.0.1.0/24', 4097)],
    services: [service('web', [{ id: 'front' }], {
      vips: { ingress: '10.0.0.2', front: '10.0.1.2' },
      ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }, { Protocol: 'udp', TargetPort: 53, PublishedPort: 5353 }, { Protocol: 'tcp', TargetPort: 81, PublishedPort: 81, PublishMode: 'host' }],
    })],
    tasks: [task('t1', 'web', 'n2', { ingress: '10.0.0.7', front: '10.0.1.3' })],
    nodes: ns,
  });
  const v1 = views.get('n1')!;
  assert.equal(v1.networks.map((n) => n.id), ['ingress'], 'n1 has no task but gets the ingress network');
  assert.equal(v1.ingress, {
    networkId: 'ingress', address: '10.0.0.5/24',
    ports: [
      { service: 'web', protocol: 'tcp', published: 8080, target: 80, backends: ['10.0.0.7'] },
      { service: 'web', protocol: 'udp', published: 5353, target: 53, backends: ['10.0.0.7'] },
    ],
  });
  assert.equal(v1.networks[0]!.peers.map((p) => `${p.ip}@${p.vtep}`), ['10.0.0.5@192.168.100.11', '10.0.0.6@192.168.100.12', '10.0.0.7@192.168.100.12']);
  assert.equal(views.get('n2')!.networks.map((n) => n.id), ['front', 'ingress']);
  assert.equal(v1.networks[0]!.services, [], 'no service discovery on ingress');
  assert.equal(views.get('n2')!.networks[0]!.services.map((s) => s.vip), ['10.0.1.2']);
  assert.is(views.get('n3')!.ingress, undefined, 'no ingress endpoint yet: no mesh');
});

test('a local mesh traffic policy tells each node which backends run there; cluster ports stay shared', () => {
  const ns = [node('n1', '192.168.100.11', '10.0.0.5'), node('n2', '192.168.100.12', '10.0.0.6'), node('n3', '192.168.100.13', '10.0.0.4')];
  const local = service('loc', [], { vips: { ingress: '10.0.0.2' }, ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] });
  local.Spec.Labels = { 'com.shoal.mesh.traffic-policy': 'local' };
  local.Spec.TaskTemplate.ContainerSpec!.StopGracePeriod = 3e9;
  const plain = service('web', [], { vips: { ingress: '10.0.0.3' }, ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 9090, PublishMode: 'ingress' }] });
  const views = computeNetworkViews({
    networks: [network('ingress', '10.0.0.0/24', 4096, true)],
    services: [local, plain],
    tasks: [
      task('t1', 'loc', 'n1', { ingress: '10.0.0.7' }), task('t2', 'loc', 'n2', { ingress: '10.0.0.8' }), task('t3', 'loc', 'n2', { ingress: '10.0.0.9' }),
      task('t4', 'loc', 'n2', { ingress: '10.0.0.10' }, 'starting'), task('t5', 'web', 'n1', { ingress: '10.0.0.11' }),
    ],
    nodes: ns,
  });
  const loc = (n: string) => views.get(n)!.ingress!.ports.find((p) => p.service === 'loc')!;
  assert.equal(loc('n1'), { service: 'loc', protocol: 'tcp', published: 8080, target: 80, backends: ['10.0.0.7', '10.0.0.8', '10.0.0.9'], trafficPolicy: 'local', stopGraceMs: 3000, local: ['10.0.0.7'] });
  assert.equal(loc('n2').local, ['10.0.0.8', '10.0.0.9'], 'a task not yet running is no local backend');
  assert.equal(loc('n3').local, [], 'no task there');
  const web = (n: string) => views.get(n)!.ingress!.ports.find((p) => p.service === 'web')!;
  assert.equal(web('n2'), { service: 'web', protocol: 'tcp', published: 9090, target: 80, backends: ['10.0.0.11'] }, 'default policy: nothing node-specific');
});

test('without published ports no node gets the ingress network', () => {
  const ns = [node('n1', '192.168.100.11', '10.0.0.5')];
  const views = computeNetworkViews({ networks: [network('ingress', '10.0.0.0/24', 4096, true)], services: [], tasks: [], nodes: ns });
  assert.equal(views.get('n1'), { vtep: '192.168.100.11', networks: [] });
});

test('unallocated networks and nodes without an address are left out', () => {
  const net = network('front', '10.0.1.0/24', 4097);
  delete net.Allocation;
  const views = computeNetworkViews({
    networks: [net], services: [], tasks: [task('t1', 'web', 'n1', { front: '10.0.1.3' })],
    nodes: [node('n1', '192.168.100.11'), node('n9', '')],
  });
  assert.equal(views.get('n1')!.networks, []);
  assert.not.ok(views.has('n9'));
});

test('a node whose address is no IPv4 unicast address is no tunnel endpoint; the others are still peers', () => {
  for (const bad of ['224.0.0.1', '0.0.0.0', '255.255.255.255', 'fe80::1', '1.2.3.4; rm -rf /', '192.168.100.013', '300.1.1.1']) {
    const views = computeNetworkViews({
      networks: [network('front', '10.0.1.0/24', 4097)],
      services: [service('web', [{ id: 'front' }], { vips: { front: '10.0.1.2' } })],
      tasks: [task('t1', 'web', 'n1', { front: '10.0.1.3' }), task('t2', 'web', 'n2', { front: '10.0.1.4' }), task('t3', 'web', 'bad', { front: '10.0.1.5' })],
      nodes: [...nodes, node('bad', bad)],
    });
    assert.equal(views.get('n1')!.networks[0]!.peers.map((p) => p.vtep), ['192.168.100.11', '192.168.100.12'], bad);
    assert.not.ok(views.has('bad'), bad);
  }
});

test('task names follow Docker: service.slot.id, or service.node.id for global tasks', () => {
  assert.is(taskName(task('abc', 'web', 'n1', {})), 'web.1.abc');
  const g = { ...task('abc', 'mon', 'n7', {}), Slot: 0 };
  assert.is(taskName(g), 'mon.n7.abc');
});

test('only changes of placement, rotation, addresses or node endpoints make views recompute', () => {
  const t = task('t1', 'web', 'n1', { front: '10.0.1.3' }, 'preparing');
  assert.not.ok(affectsViews({ kind: 'task.updated', object: { ...t, Status: { ...t.Status, State: 'ready' } }, old: t }), 'a step towards running');
  assert.ok(affectsViews({ kind: 'task.updated', object: { ...t, Status: { ...t.Status, State: 'running' } }, old: { ...t, Status: { ...t.Status, State: 'starting' } } }), 'into the rotation');
  const r = task('t1', 'web', 'n1', { front: '10.0.1.3' });
  assert.ok(affectsViews({ kind: 'task.updated', object: { ...r, DesiredState: 'shutdown' }, old: r }), 'out of the rotation');
  assert.ok(affectsViews({ kind: 'task.created', object: t }));
  const n = nodes[0]!;
  assert.not.ok(affectsViews({ kind: 'node.updated', object: { ...n, Status: { ...n.Status, Message: 'x' } }, old: n }), 'a status write');
  assert.ok(affectsViews({ kind: 'node.updated', object: node('n1', '192.168.100.11', '10.0.0.5'), old: n }), 'an ingress endpoint');
  assert.ok(affectsViews({ kind: 'service.updated', object: service('web', []), old: service('web', []) }));
  assert.not.ok(affectsViews({ kind: 'secret.created', object: {} as never }));
});

test('a task on no network changes no view, whatever it does; gaining or losing an attachment does', () => {
  const bare = task('t1', 'web', 'n1', {}, 'starting');
  assert.not.ok(affectsViews({ kind: 'task.created', object: bare }), 'created');
  assert.not.ok(affectsViews({ kind: 'task.updated', object: { ...bare, Status: { ...bare.Status, State: 'running' } }, old: bare }), 'into the rotation');
  assert.not.ok(affectsViews({ kind: 'task.updated', object: { ...bare, NodeID: 'n2' }, old: bare }), 'moved');
  assert.not.ok(affectsViews({ kind: 'task.deleted', object: bare } as never), 'deleted');
  const withIp = task('t1', 'web', 'n1', { front: '10.0.1.3' }, 'starting');
  assert.ok(affectsViews({ kind: 'task.updated', object: withIp, old: bare }), 'attached');
  assert.ok(affectsViews({ kind: 'task.updated', object: bare, old: withIp }), 'detached');
  assert.ok(affectsViews({ kind: 'task.deleted', object: withIp } as never), 'an attached task deleted');
});

test.run();
