import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task } from '../api/types/task.ts';
import type { Network } from '../api/types/network.ts';
import type { Node } from '../api/types/node.ts';
import type { Service } from '../api/types/service.ts';
import { affectsViews, computeNetworkViews } from './network-view.ts';
import { generateKeyPair } from '../../net/wireguard/keys.ts';
import type { Cluster } from '../store/index.ts';

const meta = { Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '' };
const keys = { n1: generateKeyPair(), n2: generateKeyPair(), n3: generateKeyPair() };
const KEY = Buffer.alloc(32, 9).toString('base64');
const cluster = { ShoalNetworkKey: { Key: KEY, Generation: 3, CreatedAt: 0, Nodes: ['n1', 'n2', 'n3'] } };

function network(id: string, subnet: string, vni: number, encrypted: boolean): Network {
  return {
    ID: id, ...meta,
    Spec: { Name: id, Labels: {}, Driver: 'overlay', Options: encrypted ? { encrypted: '' } : {}, IPAM: { Driver: 'default', Config: [] }, Attachable: false, Ingress: false, Internal: false, EnableIPv6: false, Scope: 'swarm' },
    Allocation: { Subnet: subnet, Gateway: subnet.replace(/0\/24$/, '1'), IPRange: subnet, VNI: vni, MTU: 1450 },
  };
}

function node(id: keyof typeof keys | 'n4', addr: string, wg = true): Node {
  return {
    ID: id, ...meta, CreatedAt: `2026-01-0${id.slice(1)}`,
    Spec: { Role: 'worker', Availability: 'active', Labels: {} },
    Description: { Hostname: id, ...(wg && id !== 'n4' ? { ShoalWireGuard: { PublicKey: keys[id].publicKey, Port: 51820 } } : {}) },
    Status: { State: 'ready', Addr: addr },
  } as Node;
}

function task(id: string, nodeId: string, addrs: Record<string, string>): Task {
  return {
    ID: id, ...meta, Labels: {}, Spec: { ContainerSpec: { Image: 'bb' } }, ServiceID: 'svc', Slot: 1, NodeID: nodeId,
    ServiceAnnotations: { Name: 'svc', Labels: {} },
    Status: { Timestamp: '', State: 'running', Message: '' }, DesiredState: 'running',
    NetworksAttachments: Object.entries(addrs).map(([nid, ip]) => ({ Network: { ID: nid, Spec: { Name: nid } }, Addresses: [`${ip}/24`] })),
  };
}

const svc = { ID: 'svc', ...meta, Spec: { Name: 'svc', Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'bb' }, Networks: [{ Target: 'sec' }, { Target: 'plain' }] } } } as Service;
const nets = [network('sec', '10.0.1.0/24', 4097, true), network('plain', '10.0.2.0/24', 4098, false)];

test('encrypted networks tunnel between WireGuard addresses; plain ones keep the underlay', () => {
  const views = computeNetworkViews({
    networks: nets, services: [svc], cluster,
    nodes: [node('n1', '192.168.100.11'), node('n2', '192.168.100.12'), node('n3', '192.168.100.13')],
    tasks: [task('t1', 'n1', { sec: '10.0.1.5', plain: '10.0.2.5' }), task('t2', 'n2', { sec: '10.0.1.6' }), task('t3', 'n3', { plain: '10.0.2.7' })],
  });
  const v1 = views.get('n1')!;
  const sec = v1.networks.find((n) => n.id === 'sec')!;
  const plain = v1.networks.find((n) => n.id === 'plain')!;
  assert.is(sec.encrypted, true);
  assert.is(plain.encrypted, undefined);
  assert.ok(sec.peers.every((p) => p.vtep.startsWith('198.1')), JSON.stringify(sec.peers));
  assert.equal(plain.peers.map((p) => p.vtep), ['192.168.100.11', '192.168.100.13']);
  // n1 and n2 share `sec`; n3 has only the plain network: no WireGuard part.
  assert.equal(v1.wireguard!.peers.map((p) => p.node), ['n2']);
  assert.is(v1.wireguard!.peers[0].endpoint, '192.168.100.12:51820');
  assert.is(v1.wireguard!.peers[0].publicKey, keys.n2.publicKey);
  assert.is(v1.wireguard!.key, KEY);
  assert.is(v1.wireguard!.keyGeneration, 3);
  assert.equal(views.get('n2')!.wireguard!.peers.map((p) => p.node), ['n1']);
  assert.is(views.get('n2')!.wireguard!.peers[0].address, v1.wireguard!.address);
  assert.is(views.get('n3')!.wireguard, undefined);
});

test('an endpoint on a node without a WireGuard key is left out of an encrypted network', () => {
  const views = computeNetworkViews({
    networks: nets, services: [svc], cluster,
    nodes: [node('n1', '192.168.100.11'), node('n4', '192.168.100.14', false)],
    tasks: [task('t1', 'n1', { sec: '10.0.1.5' }), task('t4', 'n4', { sec: '10.0.1.9' })],
  });
  assert.equal(views.get('n1')!.networks[0].peers.map((p) => p.ip), ['10.0.1.5']);
  assert.equal(views.get('n1')!.wireguard!.peers, []);
  assert.is(views.get('n4')!.wireguard, undefined);
});

test('without a network key no node gets a WireGuard part', () => {
  const views = computeNetworkViews({
    networks: nets, services: [svc],
    nodes: [node('n1', '192.168.100.11'), node('n2', '192.168.100.12')],
    tasks: [task('t1', 'n1', { sec: '10.0.1.5' }), task('t2', 'n2', { sec: '10.0.1.6' })],
  });
  assert.is(views.get('n1')!.wireguard, undefined);
});

test('a removed node leaves every WireGuard peer list', () => {
  const all = [node('n1', '192.168.100.11'), node('n2', '192.168.100.12'), node('n3', '192.168.100.13')];
  const tasks = [task('t1', 'n1', { sec: '10.0.1.5' }), task('t2', 'n2', { sec: '10.0.1.6' }), task('t3', 'n3', { sec: '10.0.1.7' })];
  const before = computeNetworkViews({ networks: nets, services: [svc], cluster, nodes: all, tasks });
  assert.equal(before.get('n1')!.wireguard!.peers.map((p) => p.node), ['n2', 'n3']);
  const after = computeNetworkViews({ networks: nets, services: [svc], cluster, nodes: all.filter((n) => n.ID !== 'n3'), tasks: tasks.slice(0, 2) });
  assert.equal(after.get('n1')!.wireguard!.peers.map((p) => p.node), ['n2']);
  assert.equal(after.get('n1')!.wireguard!.address, before.get('n1')!.wireguard!.address, 'tunnel addresses stay');
});

test('a rotated key changes views; another cluster write does not', () => {
  const c = { ID: 'c', ...meta } as unknown as Cluster;
  const old = { ...c, ShoalNetworkKey: cluster.ShoalNetworkKey };
  assert.ok(affectsViews({ kind: 'cluster.updated', object: { ...old, ShoalNetworkKey: { ...cluster.ShoalNetworkKey, Key: 'other' } }, old }));
  assert.not.ok(affectsViews({ kind: 'cluster.updated', object: { ...old, UnlockKey: 'x' }, old }));
});

test.run();
