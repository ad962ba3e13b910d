// The network flags of `service create` and `network create`, parsed as docker parses them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ipamConfig, optionsToMap, parseNetworkAttachment, parsePublish, parsePublishList, portsColumn } from './network-options.ts';
import { buildSpec } from './commands/service/create.ts';

test('-p short syntax: published:target[/proto], target alone, ranges', () => {
  assert.equal(parsePublish('8080:80'), [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }]);
  assert.equal(parsePublish('8080:80/udp'), [{ Protocol: 'udp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }]);
  assert.equal(parsePublish('80'), [{ Protocol: 'tcp', TargetPort: 80, PublishMode: 'ingress' }], 'published left to the allocator');
  assert.equal(parsePublish('53/UDP'), [{ Protocol: 'udp', TargetPort: 53, PublishMode: 'ingress' }]);
  assert.equal(parsePublish('8080-8081:80-81').map((p) => `${p.PublishedPort}->${p.TargetPort}`), ['8080->80', '8081->81']);
});

test('-p long syntax: published, target, protocol, mode', () => {
  assert.equal(parsePublish('published=8080,target=80,protocol=udp,mode=host'), [{ Protocol: 'udp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }]);
  assert.equal(parsePublish('target=80'), [{ Protocol: 'tcp', TargetPort: 80, PublishMode: 'ingress' }]);
  assert.equal(parsePublish('target=80,published=0'), [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 0, PublishMode: 'ingress' }]);
  // Shoal's traffic-policy is the service's (a label, commands/service/mesh-flags.ts), not the port's.
  assert.equal(parsePublish('published=8080,target=80,traffic-policy=local'), [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }]);
});

test('bad -p values are refused with docker\'s wording', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['http:80', /invalid published port "http"/],
    ['8080:0', /invalid target port 0/],
    ['8080:70000', /invalid target port 70000/],
    ['8080:80/icmp', /invalid protocol value icmp/],
    ['127.0.0.1:8080:80', /hostip is not supported/],
    ['8080-8082:80-81', /same size/],
    ['published=8080', /missing mandatory field "target"/],
    ['target=80,mode=bridge', /invalid publish mode value \(bridge\)/],
    ['target=80,colour=red', /invalid field key colour/],
    ['target=80,published', /must be a key=value pair/],
  ];
  for (const [v, re] of cases) assert.throws(() => parsePublish(v), re, v);
  assert.throws(() => parsePublishList(['8080:80', '8080:81']), /duplicate published port 8080\/tcp/);
  assert.is(parsePublishList(['8080:80', '8080:80/udp']).length, 2, 'same number, other protocol');
});

test('--network: a name, or name=…,alias=…,driver-opt=…', () => {
  assert.equal(parseNetworkAttachment('front'), { Target: 'front' });
  assert.equal(parseNetworkAttachment('name=back,alias=db,alias=pg,driver-opt=k=v'), { Target: 'back', Aliases: ['db', 'pg'], DriverOpts: { k: 'v' } });
  assert.throws(() => parseNetworkAttachment('alias=db'), /network name\/id is not specified/);
  assert.throws(() => parseNetworkAttachment('name=x,bogus=1'), /invalid field key bogus/);
  assert.throws(() => parseNetworkAttachment(''), /empty/);
});

test('service create puts networks, endpoint mode and ports in the spec', () => {
  const spec = buildSpec('busybox', [], { mode: 'replicated', network: ['front', 'name=back,alias=db'], publish: ['8080:80', 'published=5353,target=53,protocol=udp,mode=host'], 'endpoint-mode': 'vip' } as never);
  assert.equal(spec.TaskTemplate.Networks, [{ Target: 'front' }, { Target: 'back', Aliases: ['db'] }]);
  assert.equal(spec.EndpointSpec, {
    Mode: 'vip',
    Ports: [
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
      { Protocol: 'udp', TargetPort: 53, PublishedPort: 5353, PublishMode: 'host' },
    ],
  });
  const plain = buildSpec('busybox', [], { mode: 'replicated' } as never);
  assert.is(plain.TaskTemplate.Networks, undefined);
  assert.is(plain.EndpointSpec, undefined);
});

test('network create: IPAM config and driver options', () => {
  assert.equal(ipamConfig({}), []);
  assert.equal(ipamConfig({ subnet: '10.1.0.0/24', gateway: '10.1.0.1', 'ip-range': '10.1.0.128/25' }), [{ Subnet: '10.1.0.0/24', Gateway: '10.1.0.1', IPRange: '10.1.0.128/25' }]);
  assert.equal(optionsToMap(['com.docker.network.driver.mtu=1400']), { 'com.docker.network.driver.mtu': '1400' });
  assert.equal(optionsToMap(['encrypted']), { encrypted: '' }, "a bare key, as docker's --opt encrypted");
  assert.throws(() => optionsToMap(['=1400']), /invalid key\/value pair/);
});

test('PORTS column: ingress ports as docker shows them, ranges joined, host ports left out', () => {
  assert.is(portsColumn([{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }]), '*:8080->80/tcp');
  assert.is(portsColumn([
    { Protocol: 'tcp', TargetPort: 81, PublishedPort: 8081 },
    { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080 },
    { Protocol: 'udp', TargetPort: 53, PublishedPort: 53 },
    { Protocol: 'tcp', TargetPort: 22, PublishedPort: 2222, PublishMode: 'host' },
  ]), '*:8080-8081->80-81/tcp, *:53->53/udp');
  assert.is(portsColumn(undefined), '');
});

test.run();
