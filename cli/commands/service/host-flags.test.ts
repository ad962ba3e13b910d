import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServiceSpec } from '../../../src/api/types/service.ts';
import { applyHostCreateFlags, applyHostUpdateFlags, parseUlimit } from './host-flags.ts';

const spec = (): ServiceSpec => ({ Name: 's', TaskTemplate: { ContainerSpec: { Image: 'busybox' } } } as ServiceSpec);

test('create flags fill devices, sysctls, ulimits, shm size, init and generic resources', () => {
  const s = spec();
  applyHostCreateFlags(s, {
    device: ['/dev/net/tun', '/dev/loop3:/dev/disk:r'], sysctl: ['net.core.somaxconn=512'], ulimit: ['nofile=1024:2048'],
    'shm-size': '128m', init: true, 'generic-resource': ['gpu=1'],
  });
  const c = s.TaskTemplate.ContainerSpec;
  assert.equal(c.Devices, [
    { PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' },
    { PathOnHost: '/dev/loop3', PathInContainer: '/dev/disk', CgroupPermissions: 'r' },
  ]);
  assert.equal(c.Sysctls, { 'net.core.somaxconn': '512' });
  assert.equal(c.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
  assert.is(c.ShmSize, 128 * 1024 * 1024);
  assert.is(c.Init, true);
  assert.equal(s.TaskTemplate.Resources?.Reservations?.GenericResources, [{ DiscreteResourceSpec: { Kind: 'gpu', Value: 1 } }]);
});

test('a named generic resource or a bad ulimit is refused naming the flag value', () => {
  assert.throws(() => applyHostCreateFlags(spec(), { 'generic-resource': ['gpu=GPU-1'] }), /amount/);
  assert.throws(() => parseUlimit('nofile=2:1'), /soft limit above hard/);
  assert.throws(() => parseUlimit('nofile=unlimited'), /NAME=SOFT/);
  assert.equal(parseUlimit('nproc=64'), { Name: 'nproc', Soft: 64, Hard: 64 });
});

test('update flags remove before they add and --no-init clears the init', () => {
  const s = spec();
  applyHostCreateFlags(s, { device: ['/dev/a', '/dev/b'], sysctl: ['net.a=1', 'net.b=2'], ulimit: ['nofile=1', 'nproc=2'], init: true, 'generic-resource': ['gpu=1', 'fpga=1'] });
  applyHostUpdateFlags(s, {
    'device-rm': ['/dev/a'], 'device-add': ['/dev/c'], 'sysctl-rm': ['net.a'], 'sysctl-add': ['net.b=3'],
    'ulimit-add': ['nofile=5:6'], 'ulimit-rm': ['nproc'], init: false, 'generic-resource-rm': ['fpga'], 'generic-resource-add': ['gpu=2'],
  });
  const c = s.TaskTemplate.ContainerSpec;
  assert.equal(c.Devices?.map((d) => d.PathOnHost), ['/dev/b', '/dev/c']);
  assert.equal(c.Sysctls, { 'net.b': '3' });
  assert.equal(c.Ulimits, [{ Name: 'nofile', Soft: 5, Hard: 6 }]);
  assert.is(c.Init, false);
  assert.equal(s.TaskTemplate.Resources?.Reservations?.GenericResources, [{ DiscreteResourceSpec: { Kind: 'gpu', Value: 2 } }]);
  applyHostUpdateFlags(s, { 'shm-size': '0' });
  assert.is(c.ShmSize, undefined);
});

test('--rebalance=false writes the opt-out label and --rebalance=true removes it', () => {
  const s = spec();
  applyHostCreateFlags(s, { rebalance: 'false' });
  assert.equal(s.Labels, { 'com.shoal.rebalance': 'false' });
  applyHostUpdateFlags(s, { rebalance: 'true' });
  assert.equal(s.Labels, {});
});

test.run();
