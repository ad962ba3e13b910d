import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { taskName } from '../../common/task-name.ts';
import type { Task } from '../../api/types/task.ts';
import type { NodeNetworkView, ViewNetwork } from '../../wire/network-view-types.ts';
import {
  NetworkAgentError, dnsTable, hostPorts, ingressLink, needsGateway, remotePeers, samePeers, sandboxNetns,
  taskAttachments, taskNetns, taskResolvConf, upstreamsOf, vipServices, meshPorts,
} from './plan.ts';

const alloc = { Subnet: '10.0.1.0/24', Gateway: '10.0.1.1', IPRange: '10.0.1.0/24', VNI: 4097, MTU: 1400 };

function task(over: Partial<Task> = {}): Task {
  return {
    ID: 'task0123456789abcdef', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: {} as Task['Spec'],
    ServiceID: 'svc1', Slot: 2, ServiceAnnotations: { Name: 'web' } as Task['ServiceAnnotations'],
    Status: { Timestamp: '', State: 'assigned', Message: '' }, DesiredState: 'running',
    NetworksAttachments: [{ Network: { ID: 'net-front', Spec: { Name: 'front' }, Allocation: alloc }, Addresses: ['10.0.1.5/24'], Aliases: ['w'] }],
    ...over,
  } as Task;
}

function net(id: string, over: Partial<ViewNetwork> = {}): ViewNetwork {
  return { id, name: id, ingress: false, subnet: '10.0.1.0/24', gateway: '10.0.1.1', vni: 4097, mtu: 1450, peers: [], services: [], ...over };
}

const view: NodeNetworkView = {
  vtep: '192.168.100.11',
  networks: [
    net('front', {
      peers: [
        { ip: '10.0.1.5', mac: '02:42:0a:00:01:05', vtep: '192.168.100.11' },
        { ip: '10.0.1.6', mac: '02:42:0a:00:01:06', vtep: '192.168.100.12' },
      ],
      services: [
        { id: 's1', name: 'web', endpointMode: 'vip', vip: '10.0.1.2', aliases: ['www'], tasks: [{ name: 'web.1.a', ip: '10.0.1.6' }, { name: 'web.2.b', ip: '10.0.1.5' }] },
        { id: 's2', name: 'rr', endpointMode: 'dnsrr', aliases: [], tasks: [{ name: 'rr.1.c', ip: '10.0.1.9' }] },
        { id: 's3', name: 'idle', endpointMode: 'vip', vip: '10.0.1.3', aliases: [], tasks: [] },
      ],
    }),
    net('back', { subnet: '10.0.2.0/24', services: [{ id: 's4', name: 'db', endpointMode: 'vip', vip: '10.0.2.2', aliases: [], tasks: [{ name: 'db.1.d', ip: '10.0.2.5' }] }] }),
  ],
};

test('names: sandbox and task netns use the prefix and 12 characters of the id', () => {
  assert.is(sandboxNetns('p-', 'abcdefghijklmnopq'), 'p-sb-abcdefghijkl');
  assert.is(taskNetns('', 'task0123456789abcdef'), 't-task01234567');
  assert.throws(() => taskNetns('', 'bad/id'), /invalid task id/);
});

test('taskAttachments: reads address, prefix, allocation and aliases in order', () => {
  assert.equal(taskAttachments(task()), [{
    networkId: 'net-front', vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', mtu: 1400, ip: '10.0.1.5', bits: 24, aliases: ['w'],
  }]);
  assert.equal(taskAttachments(task({ NetworksAttachments: undefined })), []);
});

test('taskAttachments: refuses unusable attachments with a clear error', () => {
  const bad = (a: unknown, re: RegExp) => {
    try { taskAttachments(task({ NetworksAttachments: [a as never] })); assert.unreachable(); } catch (e) {
      assert.instance(e, NetworkAgentError);
      assert.match((e as Error).message, re);
    }
  };
  bad({ Network: { ID: 'n', Spec: { Name: 'n' } }, Addresses: ['10.0.1.5/24'] }, /not allocated/);
  bad({ Network: { ID: 'n', Spec: { Name: 'n' }, Allocation: alloc }, Addresses: [] }, /no valid address/);
  bad({ Network: { ID: 'n', Spec: { Name: 'n' }, Allocation: alloc }, Addresses: ['10.0.9.5/24'] }, /not in subnet/);
  bad({ Network: { ID: 'n', Spec: { Name: 'n' }, Allocation: alloc }, Addresses: ['10.0.1.5/16'] }, /not in subnet/);
  const a = { Network: { ID: 'n', Spec: { Name: 'n' }, Allocation: alloc }, Addresses: ['10.0.1.5/24'] };
  assert.throws(() => taskAttachments(task({ NetworksAttachments: [a, a] })), /twice/);
});

test('needsGateway: a way out unless every network is internal (Docker\'s rule); host ports need one', () => {
  const front = taskAttachments(task())[0];
  const vault = { ...front, networkId: 'net-vault', internal: true };
  const port = { protocol: 'tcp' as const, published: 8080, target: 80 };
  const internalTask = task({ NetworksAttachments: [{ ...task().NetworksAttachments![0], Network: { ...task().NetworksAttachments![0].Network, Spec: { Name: 'vault', Internal: true } } }] } as Partial<Task>);
  assert.is(taskAttachments(internalTask)[0].internal, true, 'read from the network spec');
  assert.is(needsGateway('t', { attachments: [front], ports: [] }), true);
  assert.is(needsGateway('t', { attachments: [vault, front], ports: [] }), true, 'one network that is not internal is enough');
  assert.is(needsGateway('t', { attachments: [vault], ports: [] }), false);
  assert.is(needsGateway('t', { attachments: [], ports: [port] }), true);
  assert.is(needsGateway('t', { attachments: [], ports: [] }), false);
  assert.throws(() => needsGateway('t1', { attachments: [vault], ports: [port] }), (e: Error) => e instanceof NetworkAgentError && /task t1 publishes host-mode ports, but all its networks are internal/.test(e.message));
});

test('taskName: the task name, else service.slot.id', () => {
  assert.is(taskName(task()), 'web.2.task0123456789abcdef');
  assert.is(taskName(task({ Name: 'x.1.y' })), 'x.1.y');
});

test('dnsTable: one entry per view network with its services', () => {
  const t = dnsTable(view);
  assert.equal(Object.keys(t), ['front', 'back']);
  assert.equal(t.front[0], { name: 'web', endpointMode: 'vip', vip: '10.0.1.2', aliases: ['www'], tasks: view.networks[0].services[0].tasks });
  assert.is(t.front[1].endpointMode, 'dnsrr');
  assert.equal(dnsTable(undefined), {});
});

test('vipServices: VIPs of the task networks only, backends from the tasks, none for dnsrr', () => {
  assert.equal(vipServices(view, ['front']), [
    { name: 'web', vip: '10.0.1.2', backends: ['10.0.1.6', '10.0.1.5'] },
    { name: 'idle', vip: '10.0.1.3', backends: [] },
  ]);
  assert.equal(vipServices(view, ['back', 'front']).map((s) => s.vip), ['10.0.1.2', '10.0.1.3', '10.0.2.2']);
  assert.equal(vipServices(view, ['other']), []);
  assert.equal(vipServices(undefined, ['front']), []);
});

test('vipServices: a service with a stop grace drains that long, plus the stop allowance, before its connections are reset', () => {
  const graced: NodeNetworkView = { ...view, networks: view.networks.map((n) => ({ ...n, services: n.services.map((s) => ({ ...s, stopGraceMs: 60_000 })) })) };
  assert.equal(vipServices(graced, ['front']).map((s) => s.drainMs), [65_000, 65_000]);
  assert.equal(vipServices(view, ['front']).map((s) => s.drainMs), [undefined, undefined], 'no grace known: the table\'s default');
});

test('meshPorts: the view\'s ingress ports with their traffic policy, this node\'s backends and their drain', () => {
  const view: NodeNetworkView = {
    vtep: '192.168.100.11', networks: [],
    ingress: {
      networkId: 'ingress', address: '10.0.0.5/24', ports: [
        { service: 'loc', protocol: 'tcp', published: 8080, target: 80, backends: ['10.0.0.7', '10.0.0.8'], trafficPolicy: 'local', local: ['10.0.0.8'], stopGraceMs: 1000 },
        { service: 'web', protocol: 'udp', published: 5353, target: 53, backends: [], weights: { '10.0.0.9': 0 } },
      ],
    },
  };
  assert.equal(meshPorts(view), [
    { service: 'loc', protocol: 'tcp', published: 8080, target: 80, backends: ['10.0.0.7', '10.0.0.8'], policy: 'local', local: ['10.0.0.8'], drainMs: 6000 },
    { service: 'web', protocol: 'udp', published: 5353, target: 53, backends: [], weights: { '10.0.0.9': 0 } },
  ]);
  assert.equal(meshPorts(undefined), []);
});

test('remotePeers / samePeers: peers of other nodes; order does not matter', () => {
  const r = remotePeers(view.networks[0], ['192.168.100.11']);
  assert.equal(r, [{ ip: '10.0.1.6', mac: '02:42:0a:00:01:06', vtep: '192.168.100.12' }]);
  assert.equal(remotePeers(undefined, []), []);
  const a = { ip: '10.0.1.7', mac: '02:42:0A:00:01:07', vtep: '192.168.100.13' };
  assert.ok(samePeers([...r, a], [{ ...a, mac: a.mac.toLowerCase() }, ...r]));
  assert.not.ok(samePeers(r, [a]));
  assert.not.ok(samePeers(r, [{ ...r[0], vtep: '192.168.100.14' }]));
});

test('hostPorts: host-mode ports only; 0 gets the lowest free port of the range', () => {
  const t = task({
    Endpoint: {
      Spec: {},
      Ports: [
        { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' },
        { Protocol: 'tcp', TargetPort: 81, PublishMode: 'host' },
        { Protocol: 'udp', TargetPort: 53, PublishedPort: 0, PublishMode: 'host' },
        { Protocol: 'tcp', TargetPort: 82, PublishedPort: 9000, PublishMode: 'ingress' },
      ],
    },
  });
  assert.equal(hostPorts(t, new Set(['tcp/30000', 'tcp/30001'])), [
    { protocol: 'tcp', published: 8080, target: 80 },
    { protocol: 'tcp', published: 30002, target: 81 },
    { protocol: 'udp', published: 30000, target: 53 },
  ]);
  assert.equal(hostPorts(task(), new Set()), []);
  const sctp = task({ Endpoint: { Spec: {}, Ports: [{ Protocol: 'sctp', TargetPort: 1, PublishMode: 'host' }] } });
  assert.throws(() => hostPorts(sctp, new Set()), /cannot publish sctp/);
  const all = new Set(Array.from({ length: 2768 }, (_, i) => `tcp/${30000 + i}`));
  const one = task({ Endpoint: { Spec: {}, Ports: [{ TargetPort: 1, PublishMode: 'host' }] } });
  assert.throws(() => hostPorts(one, all), /no free host port/);
});

test('resolv.conf: embedded DNS plus the host search line; upstreams without loopback', () => {
  const host = '# c\nnameserver 127.0.0.53\nnameserver 192.168.1.1\nsearch lab.example\nnameserver 10.0.0.2\n';
  assert.is(taskResolvConf(host), 'nameserver 127.0.0.11\noptions ndots:0\nsearch lab.example\n');
  assert.is(taskResolvConf(''), 'nameserver 127.0.0.11\noptions ndots:0\n');
  assert.equal(upstreamsOf(host), ['192.168.1.1', '10.0.0.2']);
});

test('ingressLink: host veth with the address and MAC, peer on the sandbox bridge', () => {
  const c = ingressLink('sb-ing', '10.255.0.3/16', 1450, '02:42:0a:ff:00:03');
  assert.equal(c.host[0], 'link add shoal-ingress mtu 1450 type veth peer name ingress0 mtu 1450 netns sb-ing');
  assert.ok(c.host.includes('addr add 10.255.0.3/16 dev shoal-ingress'));
  assert.ok(c.ip.includes('link set ingress0 master br0'));
  assert.throws(() => ingressLink('sb', '10.255.0.3', 1450, 'x'), /invalid ingress address/);
});

test.run();
