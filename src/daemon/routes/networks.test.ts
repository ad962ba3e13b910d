// The /networks routes and the network/port options of /services on a loopback
// single-node swarm (a real SwarmNode, store and router; the node runs no tasks).
// Bad input gets Docker's error and leaves the store as it was.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type http from 'node:http';
import { Router } from '../../common/router.ts';
import { listenUnix, closeServer } from '../http/unix-server.ts';
import { ApiClient } from '../../api/client.ts';
import type { Service, ServiceSpec } from '../../api/types/service.ts';
import { addNetworkRoutes, type LocalEndpoint, type NetworkResource } from './networks.ts';
import { addServiceRoutes } from './services.ts';
import { failure, startLoopbackRoutes, type LoopbackRoutes } from './test-swarm.ts';

let swarm: LoopbackRoutes | undefined;
let outside: http.Server | undefined;
let api: ApiClient;
let noSwarm: ApiClient;
const local = new Map<string, LocalEndpoint[]>();

test.before(async () => {
  swarm = await startLoopbackRoutes({ tmp: 'netapi', hostname: 'nethost' }, (router, node) => {
    addNetworkRoutes(router, () => node, { endpoints: (id) => local.get(id) ?? [] }, { allocationWaitMs: 2000 });
    addServiceRoutes(router, () => node);
  });
  api = swarm.api;
  // The same routes outside a swarm, on a second socket in the same directory.
  const bare = new Router();
  addNetworkRoutes(bare, () => undefined);
  outside = await listenUnix(bare.listener, join(swarm.dir, 'none.sock'));
  noSwarm = new ApiClient(`unix://${join(swarm.dir, 'none.sock')}`);
});

test.after(async () => {
  if (outside && swarm) await closeServer(outside, join(swarm.dir, 'none.sock'));
  await swarm?.close();
});

const names = async () => (await api.get<NetworkResource[]>('/networks')).map((n) => n.Name).sort();
const serviceNames = async () => (await api.get<Service[]>('/services')).map((s) => s.Spec.Name).sort();

function spec(name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return { Name: name, Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox' } }, ...extra };
}

test('outside a swarm the network routes answer as the other swarm routes do', async () => {
  const err = await failure(noSwarm.get('/networks'));
  assert.is(err.status, 503);
  assert.match(err.message, /^This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join"/);
});

test('create returns 201 {Id, Warning}; inspect shows Docker\'s NetworkResource', async () => {
  const res = await api.request('POST', '/networks/create', { body: { Name: 'web', CheckDuplicate: true, Driver: 'overlay', Attachable: true, Labels: { tier: 'front' }, IPAM: { Driver: 'default', Config: [{ Subnet: '10.77.0.0/24', Gateway: '10.77.0.1' }] } } });
  assert.is(res.status, 201);
  const body = JSON.parse(res.body.toString());
  assert.match(body.Id, /^[a-z0-9]{25}$/);
  assert.is(body.Warning, '');
  for (const ref of [body.Id, 'web', body.Id.slice(0, 6)]) {
    const n = await api.get<NetworkResource>(`/networks/${ref}`);
    assert.is(n.Id, body.Id);
    assert.is(n.Name, 'web');
    assert.is(n.Scope, 'swarm');
    assert.is(n.Driver, 'overlay');
    assert.is(n.Attachable, true);
    assert.is(n.Ingress, false);
    assert.equal(n.Labels, { tier: 'front' });
    assert.is(n.IPAM.Driver, 'default');
    assert.is(n.IPAM.Config[0].Subnet, '10.77.0.0/24');
    assert.equal(n.ConfigFrom, { Network: '' });
    assert.equal(n.Containers, {});
    assert.equal(n.Peers, [], 'no node runs a task on it');
  }
});

test('create answers once the allocator wrote the subnet, and leaves no store watch behind', async () => {
  const store = swarm!.node.manager!.store;
  const watches = store.watchCount;
  const { Id } = await api.post<{ Id: string }>('/networks/create', { Name: 'allocwait', Driver: 'overlay' });
  assert.ok(store.view((tx) => tx.get('network', Id))?.Allocation, 'allocated when create answered');
  assert.is(store.watchCount, watches);
  await api.request('DELETE', `/networks/${Id}`);
});

test('inspect of an unknown network is 404; scope=local finds no swarm network', async () => {
  const err = await failure(api.get('/networks/nosuch'));
  assert.is(err.status, 404);
  assert.is(err.message, 'network nosuch not found');
  assert.is((await failure(api.get('/networks/web', { query: { scope: 'local' } }))).status, 404);
  assert.is((await api.request('GET', '/networks/web', { query: { scope: 'swarm' } })).status, 200);
});

test('Containers come from the local data plane, with the prefix length', async () => {
  const n = await api.get<NetworkResource>('/networks/web');
  local.set(n.Id, [{ taskId: 't1', name: 'app.1.t1', ip: '10.77.0.5', mac: '02:42:0a:4d:00:05' }]);
  const again = await api.get<NetworkResource>('/networks/web');
  assert.equal(again.Containers, { t1: { Name: 'app.1.t1', EndpointID: 't1', MacAddress: '02:42:0a:4d:00:05', IPv4Address: '10.77.0.5/24', IPv6Address: '' } });
  local.clear();
});

test('bad create requests are refused with a clear error and change nothing', async () => {
  const before = await names();
  const cases: [unknown, number, RegExp][] = [
    [{ Name: 'web', Driver: 'overlay' }, 409, /network with name web already exists/],
    [{ Name: 'br', Driver: 'bridge' }, 400, /network driver "bridge" is not supported/],
    [{ Name: '' }, 400, /network name: must not be empty/],
    [{ Name: 'bad name' }, 400, /invalid network name "bad name"/],
    [{ Name: 'host', Driver: 'overlay' }, 403, /host is a pre-defined network/],
    [{ Name: 'v6', EnableIPv6: true }, 400, /IPv6 is not supported/],
    [{ Name: 'ipam', IPAM: { Driver: 'dhcp' } }, 400, /IPAM driver "dhcp" is not supported/],
    [{ Name: 'sub', IPAM: { Config: [{ Subnet: '10.1.0.0' }] } }, 400, /Subnet "10.1.0.0": must be an IPv4 CIDR/],
    [{ Name: 'gw', IPAM: { Config: [{ Gateway: '10.1.0.1' }] } }, 400, /needs a subnet/],
    [{ Name: 'lab', Labels: { a: 1 } }, 400, /value of "a" must be a string/],
    [{ Name: 'ing', Ingress: true }, 409, /ingress network \(.+\) is already present/],
    // The allocator's checks, before anything is written.
    [{ Name: 'ovl', IPAM: { Config: [{ Subnet: '10.77.0.0/25' }] } }, 409, /overlap/],
    [{ Name: 'gwout', IPAM: { Config: [{ Subnet: '10.78.0.0/24', Gateway: '10.79.0.1' }] } }, 400, /gateway/i],
  ];
  for (const [body, status, message] of cases) {
    const err = await failure(api.post('/networks/create', body));
    assert.is(err.status, status, JSON.stringify(body));
    assert.match(err.message, message);
  }
  assert.equal(await names(), before);
});

test('list filters: name, id, driver, label, scope, type; bad filters are refused', async () => {
  await api.post('/networks/create', { Name: 'backend', Labels: { tier: 'back' } });
  const list = (filters: Record<string, string[]>) => api.get<NetworkResource[]>('/networks', { query: { filters: JSON.stringify(filters) } }).then((l) => l.map((n) => n.Name).sort());
  assert.equal(await list({ name: ['back'] }), ['backend']);
  assert.equal(await list({ label: ['tier=front'] }), ['web']);
  assert.equal(await list({ label: ['tier'] }), ['backend', 'web']);
  assert.equal(await list({ driver: ['overlay'], name: ['web'] }), ['web']);
  assert.equal(await list({ driver: ['bridge'] }), []);
  assert.equal(await list({ scope: ['local'] }), []);
  assert.equal(await list({ type: ['builtin'] }), []);
  assert.ok((await list({ type: ['custom'] })).includes('backend'));
  const web = await api.get<NetworkResource>('/networks/web');
  assert.equal(await list({ id: [web.Id.slice(0, 8)] }), ['web']);
  assert.is((await failure(api.get('/networks', { query: { filters: JSON.stringify({ type: ['nope'] }) } }))).status, 400);
  assert.match((await failure(api.get('/networks', { query: { filters: JSON.stringify({ colour: ['red'] }) } }))).message, /invalid filter 'colour'/);
});

test('services name networks by name, ID or prefix; they are stored by ID', async () => {
  const web = await api.get<NetworkResource>('/networks/web');
  const backend = await api.get<NetworkResource>('/networks/backend');
  const { ID } = await api.post<{ ID: string }>('/services/create', spec('app', { TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'web', Aliases: ['a'] }, { Target: backend.Id.slice(0, 7) }] } }));
  const svc = await api.get<Service>(`/services/${ID}`);
  assert.equal(svc.Spec.TaskTemplate.Networks, [{ Target: web.Id, Aliases: ['a'] }, { Target: backend.Id }]);
});

test('bad network references and ports on a service are refused; nothing is created', async () => {
  const before = await serviceNames();
  const ingress = (await api.get<NetworkResource[]>('/networks')).find((n) => n.Ingress);
  const cases: [ServiceSpec, number, RegExp][] = [
    [spec('s1', { TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'nosuch' }] } }), 404, /network nosuch not found/],
    [spec('s2', { Networks: [{ Target: 'nosuch' }] }), 404, /network nosuch not found/],
    [spec('s3', { TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'web' }, { Target: 'web' }] } }), 400, /attached more than once/],
    [spec('s4', { EndpointSpec: { Mode: 'dnsrr', Ports: [{ TargetPort: 80 }] } }), 400, /port published with ingress mode can't be used with dnsrr mode/],
    [spec('s5', { EndpointSpec: { Ports: [{ TargetPort: 80, Protocol: 'sctp' }] } }), 400, /sctp is not supported/],
    [spec('s6', { EndpointSpec: { Ports: [{ TargetPort: 0 }] } }), 400, /TargetPort/],
    [spec('s7', { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 70000 }] } }), 400, /PublishedPort/],
    [spec('s8', { EndpointSpec: { Mode: 'round' as 'vip' } }), 400, /unknown endpoint mode "round"/],
    [spec('s10', { Networks: [{ Target: 'web' }], TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'backend' }] } }), 400, /not in both/],
  ];
  // swarm init makes the ingress network with the cluster.
  assert.ok(ingress, 'the swarm has its ingress network');
  cases.push([spec('s9', { TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'ingress' }] } }), 400, /cannot be explicitly attached to the ingress network "ingress"/]);
  for (const [s, status, message] of cases) {
    const err = await failure(api.post('/services/create', s));
    assert.is(err.status, status, s.Name);
    assert.match(err.message, message);
  }
  assert.equal(await serviceNames(), before);
});

test('a published port in use by another service is refused, on create and on update', async () => {
  await api.post('/services/create', spec('pub', { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } }));
  const before = await serviceNames();
  const err = await failure(api.post('/services/create', spec('pub2', { EndpointSpec: { Ports: [{ TargetPort: 81, PublishedPort: 8080 }] } })));
  assert.match(err.message, /port '8080' is already in use by service 'pub'/);
  assert.equal(await serviceNames(), before);
  // The same port on udp does not clash.
  await api.post('/services/create', spec('pubudp', { EndpointSpec: { Ports: [{ TargetPort: 53, PublishedPort: 8080, Protocol: 'udp' }] } }));
  const app = await api.get<Service>('/services/app');
  const next = structuredClone(app.Spec);
  next.EndpointSpec = { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] };
  const upd = await failure(api.post(`/services/app/update`, next, { query: { version: app.Version.Index } }));
  assert.match(upd.message, /port '8080' is already in use by service 'pub'/);
  assert.equal((await api.get<Service>('/services/app')).Spec, app.Spec, 'the refused update changed nothing');
  // The service may keep its own port on update.
  const pub = await api.get<Service>('/services/pub');
  await api.post(`/services/pub/update`, { ...pub.Spec, Labels: { x: 'y' } }, { query: { version: pub.Version.Index } });
});

test('a network in use by a service cannot be deleted; once unused it can', async () => {
  const err = await failure(api.delete('/networks/web'));
  assert.is(err.status, 409);
  assert.match(err.message, /network web is in use by service app/);
  assert.ok((await names()).includes('web'), 'still there');
  await api.delete('/services/app');
  const res = await api.request('DELETE', '/networks/web');
  assert.is(res.status, 204);
  assert.not.ok((await names()).includes('web'));
  assert.is((await failure(api.delete('/networks/web'))).status, 404);
});

test('ingress: one only, not removable while a service publishes through it', async () => {
  const ingress = (await api.get<NetworkResource[]>('/networks')).find((n) => n.Ingress);
  assert.ok(ingress, 'swarm init made the ingress network');
  // Every node takes part in ingress (its routing-mesh endpoint).
  assert.equal(ingress.Peers.map((p) => p.Name), ['nethost']);
  const err = await failure(api.delete(`/networks/${ingress.Id}`));
  assert.is(err.status, 409);
  assert.match(err.message, /ingress network cannot be removed because service pub/);
  await api.delete('/services/pub');
  await api.delete('/services/pubudp');
  assert.is((await api.request('DELETE', `/networks/${ingress.Id}`)).status, 204);
  // A new one may be made (Docker: `network create --ingress`).
  const { Id } = await api.post<{ Id: string }>('/networks/create', { Name: 'ingress2', Driver: 'overlay', Ingress: true });
  assert.is((await api.get<NetworkResource>(`/networks/${Id}`)).Ingress, true);
});

test.run();
