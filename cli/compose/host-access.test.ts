// Compose keys for devices and privilege: Docker's stack deploy ignores devices,
// privileged and shm_size and has init; Shoal applies all four, plus reserved generic
// resources, and the specs they make pass the daemon's own checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serviceSpecOfBody, validateServiceSpec, withServiceDefaults } from '../../src/api/spec/service-spec.ts';
import { loadCompose } from './load.ts';
import { convertStack } from './convert.ts';

const opts = { workingDir: '/app', env: () => undefined, readFile: () => Buffer.from('x') };
const YML = `
services:
  vpn:
    image: busybox
    init: true
    privileged: true
    devices: ["/dev/net/tun", "/dev/loop3:/dev/disk:r"]
    shm_size: 128m
    sysctls: {net.ipv4.ip_forward: "1"}
    ulimits: {nofile: {soft: 1024, hard: 2048}}
    deploy:
      resources:
        reservations:
          generic_resources: [{discrete_resource_spec: {kind: gpu, value: 1}}]
`;

test('init, devices, shm_size, privileged and generic resources become spec fields the daemon accepts', () => {
  const plan = convertStack(loadCompose('s.yml', YML, () => undefined).data, 'st', opts);
  assert.equal(plan.warnings, []);
  const spec = plan.services[0].spec;
  const c = spec.TaskTemplate.ContainerSpec;
  assert.is(c.Init, true);
  assert.equal(c.Privileges, { Privileged: true });
  assert.equal(c.Devices, [
    { PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' },
    { PathOnHost: '/dev/loop3', PathInContainer: '/dev/disk', CgroupPermissions: 'r' },
  ]);
  assert.is(c.ShmSize, 128 * 1024 * 1024);
  assert.equal(spec.TaskTemplate.Resources?.Reservations?.GenericResources, [{ DiscreteResourceSpec: { Kind: 'gpu', Value: 1 } }]);
  validateServiceSpec(withServiceDefaults(serviceSpecOfBody(JSON.parse(JSON.stringify(spec)))));
});

test('a named generic resource or a bad device is refused at its compose path', () => {
  const named = YML.replace('{discrete_resource_spec: {kind: gpu, value: 1}}', '{named_resource_spec: {kind: gpu, value: GPU-1}}');
  assert.throws(() => convertStack(loadCompose('s.yml', named, () => undefined).data, 'st', opts), /generic_resources\[0\]/);
  const dev = YML.replace('"/dev/net/tun", ', '"a:b:c:d", ');
  assert.throws(() => convertStack(loadCompose('s.yml', dev, () => undefined).data, 'st', opts), /devices.*HOST\[:CONTAINER/);
});

test.run();
