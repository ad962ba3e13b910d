import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ApiError } from '../../api/errors.ts';
import type { Network, NetworkSpec } from '../../api/types/network.ts';
import type { Service } from '../../api/types/service.ts';
import { service } from '../testing/fixtures.ts';
import { checkNetworkRequest, checkPublishedPorts } from './index.ts';

function spec(name: string, cfg: NetworkSpec['IPAM']['Config'] = [], options: Record<string, string> = {}): NetworkSpec {
  return {
    Name: name, Labels: {}, Driver: 'overlay', Options: options, IPAM: { Driver: 'default', Config: cfg },
    Attachable: false, Ingress: false, Internal: false, EnableIPv6: false, Scope: 'swarm',
  };
}
function net(id: string, s: NetworkSpec, alloc?: Network['Allocation']): Network {
  return { ID: id, Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Spec: s, ...(alloc ? { Allocation: alloc } : {}) };
}
const ingress = net('ing', { ...spec('ingress'), Ingress: true }, { Subnet: '10.0.0.0/24', Gateway: '10.0.0.1', IPRange: '10.0.0.0/24', VNI: 4096, MTU: 1450 });

function throwsStatus(fn: () => void, status: number, re: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ApiError);
    assert.is((err as ApiError).status, status, (err as Error).message);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable('expected an error');
}

test('a valid network passes', () => {
  checkNetworkRequest([ingress], spec('web'));
  checkNetworkRequest([ingress], spec('db', [{ Subnet: '10.5.0.0/16', Gateway: '10.5.0.254', IPRange: '10.5.1.0/24' }]));
  checkNetworkRequest([ingress], spec('v', [], { 'com.docker.network.driver.overlay.vxlanid_list': '5000', 'com.docker.network.driver.mtu': '1400' }));
});

test('bad subnet, gateway and ip-range are 400 with the value named', () => {
  throwsStatus(() => checkNetworkRequest([], spec('x', [{ Subnet: '10.0.0.1/24' }])), 400, /host bits set/);
  throwsStatus(() => checkNetworkRequest([], spec('x', [{ Subnet: 'nope' }])), 400, /invalid subnet "nope"/);
  throwsStatus(() => checkNetworkRequest([], spec('x', [{ Subnet: '10.9.0.0/24', Gateway: '10.8.0.1' }])), 400, /gateway "10.8.0.1": not inside subnet/);
  throwsStatus(() => checkNetworkRequest([], spec('x', [{ Subnet: '10.9.0.0/24', IPRange: '10.9.1.0/25' }])), 400, /ip range "10.9.1.0\/25": not inside subnet/);
  throwsStatus(() => checkNetworkRequest([], spec('x', [{ Subnet: 'fd00::/64' }])), 400, /IPv6/);
  throwsStatus(() => checkNetworkRequest([], spec('x', [], { 'com.docker.network.driver.mtu': 'big' })), 400, /mtu/);
});

test('an overlap with an allocated or a pending network is 409', () => {
  throwsStatus(() => checkNetworkRequest([ingress], spec('x', [{ Subnet: '10.0.0.0/16' }])), 409, /overlaps with network "ingress"/);
  const pending = net('p', spec('pend', [{ Subnet: '10.7.0.0/24' }]));
  throwsStatus(() => checkNetworkRequest([ingress, pending], spec('x', [{ Subnet: '10.7.0.128/25' }])), 409, /overlaps with network "pend"/);
});

test('a VXLAN ID taken is 409; a second ingress network is 409', () => {
  throwsStatus(() => checkNetworkRequest([ingress], spec('x', [], { 'com.docker.network.driver.overlay.vxlanid_list': '4096' })), 409, /VXLAN ID "4096" already in use/);
  throwsStatus(() => checkNetworkRequest([ingress], { ...spec('ing2'), Ingress: true }), 409, /ingress network \(ing\) is already present/);
});

test('exhausted default pools are 503', () => {
  const cluster = { DefaultAddrPool: ['10.20.0.0/24'], SubnetSize: 24 };
  const full = net('f', spec('full'), { Subnet: '10.20.0.0/24', Gateway: '10.20.0.1', IPRange: '10.20.0.0/24', VNI: 4097, MTU: 1450 });
  throwsStatus(() => checkNetworkRequest([full], spec('x'), cluster), 503, /pool exhausted/);
});

function svc(id: string, name: string, ports: Service['Spec']['EndpointSpec']): Service {
  const s = service(id, { Name: name, EndpointSpec: ports });
  return s;
}

test('published ports: Docker\'s conflict message, own ports and host-mode sharing allowed', () => {
  const web = svc('abc123', 'web', { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] });
  throwsStatus(() => checkPublishedPorts([web], undefined, { Ports: [{ TargetPort: 81, PublishedPort: 8080, Protocol: 'tcp' }] }), 400,
    /^port '8080' is already in use by service 'web' \(abc123\) as an ingress port$/);
  checkPublishedPorts([web], 'abc123', { Ports: [{ TargetPort: 81, PublishedPort: 8080 }] });
  checkPublishedPorts([web], undefined, { Ports: [{ TargetPort: 81, PublishedPort: 8080, Protocol: 'udp' }] });
  const h = svc('h1', 'hosty', { Ports: [{ TargetPort: 80, PublishedPort: 9000, PublishMode: 'host' }] });
  checkPublishedPorts([h], undefined, { Ports: [{ TargetPort: 80, PublishedPort: 9000, PublishMode: 'host' }] });
  throwsStatus(() => checkPublishedPorts([h], undefined, { Ports: [{ TargetPort: 80, PublishedPort: 9000 }] }), 400, /by service 'hosty' \(h1\) as a host-published port/);
  throwsStatus(() => checkPublishedPorts([web], undefined, { Ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] }), 400, /by service 'web' \(abc123\) as an ingress port/);
});

test('published ports: an allocated dynamic port conflicts too; duplicates and bad numbers refused', () => {
  const dyn = svc('d1', 'dyn', { Ports: [{ TargetPort: 80 }] });
  dyn.Endpoint = { Spec: dyn.Spec.EndpointSpec!, Ports: [{ TargetPort: 80, PublishedPort: 30000, Protocol: 'tcp', PublishMode: 'ingress' }] };
  throwsStatus(() => checkPublishedPorts([dyn], undefined, { Ports: [{ TargetPort: 80, PublishedPort: 30000 }] }), 400, /'30000' is already in use by service 'dyn'/);
  throwsStatus(() => checkPublishedPorts([], undefined, { Ports: [{ TargetPort: 80, PublishedPort: 1 }, { TargetPort: 81, PublishedPort: 1 }] }), 400, /duplicate published port tcp\/1/);
  throwsStatus(() => checkPublishedPorts([], undefined, { Ports: [{ TargetPort: 80, PublishedPort: 70000 }] }), 400, /invalid published port 70000/);
  checkPublishedPorts([dyn], undefined, { Ports: [{ TargetPort: 80 }] });
  checkPublishedPorts([dyn], undefined, undefined);
});

test.run();
