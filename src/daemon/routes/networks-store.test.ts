// What the /networks routes read from the store, on a MemoryStore: who keeps a network
// from being deleted (services, tasks still holding an address, ingress users), which
// nodes are its peers, and Docker's NetworkResource rendering.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import { ManualWallClock, aNetwork, aNode, aService, aTask } from '../../store/testing.ts';
import { deleteRefusal, networkPeers, renderNetwork } from './networks.ts';
import type { Network } from '../../api/types/network.ts';
import type { Task } from '../../api/types/task.ts';

let seq = 0;
function store(): MemoryStore {
  return new MemoryStore({ clock: new ManualWallClock(), rand: (n) => new Uint8Array(n).map(() => ++seq % 256) });
}

function attached(t: Task, n: Network): Task {
  return { ...t, NetworksAttachments: [{ Network: { ID: n.ID, Spec: { Name: n.Spec.Name } }, Addresses: ['10.0.1.5/24'] }] };
}

test('a service naming the network, or a task still holding an address on it, keeps it', async () => {
  const s = store();
  const { value: net } = await s.update((tx) => tx.create('network', aNetwork('web')));
  const { value: node } = await s.update((tx) => tx.create('node', aNode('h1')));
  const svc = aService('app');
  svc.Spec.TaskTemplate.Networks = [{ Target: net.ID }];
  const { value: app } = await s.update((tx) => tx.create('service', svc));
  assert.match(s.view((tx) => deleteRefusal(tx, net))!, /network web is in use by service app/);
  await s.update((tx) => tx.delete('service', app.ID));
  assert.is(s.view((tx) => deleteRefusal(tx, net)), undefined);
  const running = { ...attached(aTask(app.ID, 1, node.ID) as Task, net), Status: { Timestamp: '', State: 'running' as const, Message: '' } };
  const { value: t } = await s.update((tx) => tx.create('task', running));
  assert.match(s.view((tx) => deleteRefusal(tx, net))!, new RegExp(`network web is in use by task ${t.ID}`));
  assert.equal(s.view((tx) => networkPeers(tx, net)), [{ Name: 'h1', IP: '192.168.100.2' }]);
  // Still running while being removed: still in use. Once shut down: free.
  await s.update((tx) => tx.update('task', { ...structuredClone(tx.get('task', t.ID)!), DesiredState: 'remove' }));
  assert.ok(s.view((tx) => deleteRefusal(tx, net)));
  await s.update((tx) => {
    const cur = structuredClone(tx.get('task', t.ID)!);
    cur.Status = { ...cur.Status, State: 'shutdown' };
    tx.update('task', cur);
  });
  assert.is(s.view((tx) => deleteRefusal(tx, net)), undefined);
  assert.equal(s.view((tx) => networkPeers(tx, net)), []);
});

test('a task never sent to a node and no longer wanted does not hold the network', async () => {
  const s = store();
  const { value: net } = await s.update((tx) => tx.create('network', aNetwork('web')));
  const pending = { ...attached(aTask('gone', 1) as Task, net), DesiredState: 'remove' as const, Status: { Timestamp: '', State: 'pending' as const, Message: '' } };
  await s.update((tx) => tx.create('task', pending));
  assert.is(s.view((tx) => deleteRefusal(tx, net)), undefined);
});

test('ingress: kept while a service publishes through the mesh; every node is a peer', async () => {
  const s = store();
  const ing = aNetwork('ingress');
  ing.Spec.Ingress = true;
  const { value: net } = await s.update((tx) => tx.create('network', ing));
  await s.update((tx) => tx.create('node', aNode('h1')));
  await s.update((tx) => tx.create('node', aNode('h2')));
  const host = aService('hostonly');
  host.Spec.EndpointSpec = { Ports: [{ TargetPort: 80, PublishedPort: 80, PublishMode: 'host' }] };
  await s.update((tx) => tx.create('service', host));
  assert.is(s.view((tx) => deleteRefusal(tx, net)), undefined, 'host-mode ports do not use ingress');
  const mesh = aService('web');
  mesh.Spec.EndpointSpec = { Ports: [{ TargetPort: 80 }] };
  await s.update((tx) => tx.create('service', mesh));
  assert.match(s.view((tx) => deleteRefusal(tx, net))!, /ingress network cannot be removed because service web/);
  assert.equal(s.view((tx) => networkPeers(tx, net)).map((p) => p.Name).sort(), ['h1', 'h2']);
});

test('rendering: allocation, VXLAN ID option, ip-range only when narrower, endpoints', () => {
  const n: Network = {
    ...(aNetwork('web') as Network),
    ID: 'n1',
    Version: { Index: 3 },
    CreatedAt: '2026-01-01T00:00:00.000Z',
    UpdatedAt: '2026-01-01T00:00:00.000Z',
    Allocation: { Subnet: '10.0.1.0/24', Gateway: '10.0.1.1', IPRange: '10.0.1.0/24', VNI: 4097, MTU: 1450 },
  };
  const r = renderNetwork(n, [{ taskId: 't1', name: 'web.1.t1', ip: '10.0.1.5/24', mac: '02:42:0a:00:01:05', endpointId: 'ep1' }], []);
  assert.equal(r.IPAM, { Driver: 'default', Options: {}, Config: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] });
  assert.is(r.Options['com.docker.network.driver.overlay.vxlanid_list'], '4097');
  assert.equal(r.Containers.t1, { Name: 'web.1.t1', EndpointID: 'ep1', MacAddress: '02:42:0a:00:01:05', IPv4Address: '10.0.1.5/24', IPv6Address: '' });
  assert.is(r.Created, n.CreatedAt);
  const narrow = renderNetwork({ ...n, Allocation: { ...n.Allocation!, IPRange: '10.0.1.128/25' } }, [], []);
  assert.is(narrow.IPAM.Config[0].IPRange, '10.0.1.128/25');
  const unallocated = renderNetwork({ ...n, Allocation: undefined }, [], []);
  assert.equal(unallocated.IPAM.Config, []);
  assert.is(unallocated.Options['com.docker.network.driver.overlay.vxlanid_list'], undefined);
});

test.run();
