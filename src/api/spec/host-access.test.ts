import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TaskSpec } from '../types/service.ts';
import { checkHostAccess, genericAmounts, isNamespacedSysctl, parseDevice, parseGenericResource } from './host-access.ts';
import { validateServiceSpec } from './service-spec.ts';

const task = (c: Partial<TaskSpec['ContainerSpec']>, extra: Partial<TaskSpec> = {}): TaskSpec => ({ ContainerSpec: { Image: 'busybox', ...c }, ...extra });

test('namespaced sysctls pass and host-wide ones are refused naming the key', () => {
  assert.ok(isNamespacedSysctl('net.ipv4.ip_unprivileged_port_start'));
  assert.ok(isNamespacedSysctl('kernel.shmmax'));
  assert.ok(isNamespacedSysctl('fs.mqueue.msg_max'));
  assert.not.ok(isNamespacedSysctl('vm.swappiness'));
  assert.not.ok(isNamespacedSysctl('kernel.pid_max'));
  assert.not.ok(isNamespacedSysctl('net.'));
  assert.is(checkHostAccess(task({ Sysctls: { 'net.core.somaxconn': '1024' } })), undefined);
  const p = checkHostAccess(task({ Sysctls: { 'vm.swappiness': '10' } }));
  assert.is(p?.field, 'TaskTemplate.ContainerSpec.Sysctls.vm.swappiness');
  assert.match(p!.reason, /not a namespaced sysctl/);
});

test('ulimits must be known, unique and non-negative', () => {
  assert.is(checkHostAccess(task({ Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }] })), undefined);
  assert.match(checkHostAccess(task({ Ulimits: [{ Name: 'files', Soft: 1, Hard: 1 }] }))!.reason, /unknown ulimit/);
  assert.match(checkHostAccess(task({ Ulimits: [{ Name: 'nproc', Soft: 1, Hard: 1 }, { Name: 'nproc', Soft: 2, Hard: 2 }] }))!.reason, /duplicate/);
});

test('devices parse like docker run --device and bad ones are refused', () => {
  assert.equal(parseDevice('/dev/net/tun'), { PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' });
  assert.equal(parseDevice('/dev/loop5:/dev/xvda'), { PathOnHost: '/dev/loop5', PathInContainer: '/dev/xvda', CgroupPermissions: 'rwm' });
  assert.equal(parseDevice('/dev/loop5:r'), { PathOnHost: '/dev/loop5', PathInContainer: '/dev/loop5', CgroupPermissions: 'r' });
  assert.equal(parseDevice('/dev/loop5:/dev/d:rw'), { PathOnHost: '/dev/loop5', PathInContainer: '/dev/d', CgroupPermissions: 'rw' });
  assert.throws(() => parseDevice('a:b:c:d'), /HOST\[:CONTAINER/);
  assert.match(checkHostAccess(task({ Devices: [{ PathOnHost: 'dev/x' }] }))!.field, /PathOnHost/);
  assert.match(checkHostAccess(task({ Devices: [{ PathOnHost: '/dev/x', PathInContainer: '/dev/shm' }] }))!.reason, /mount of the runtime/);
  assert.match(checkHostAccess(task({ Devices: [{ PathOnHost: '/dev/x', CgroupPermissions: 'rx' }] }))!.field, /CgroupPermissions/);
  assert.match(checkHostAccess(task({ Devices: [{ PathOnHost: '/dev/x' }, { PathOnHost: '/dev/y', PathInContainer: '/dev/x' }] }))!.reason, /duplicate/);
});

test('a task reserves discrete generic resources only', () => {
  const g = (list: unknown) => task({}, { Resources: { Reservations: { GenericResources: list as never } } });
  assert.is(checkHostAccess(g([{ DiscreteResourceSpec: { Kind: 'gpu', Value: 2 } }])), undefined);
  assert.match(checkHostAccess(g([{ NamedResourceSpec: { Kind: 'gpu', Value: 'GPU-1' } }]))!.reason, /amount/);
  assert.match(checkHostAccess(g([{ DiscreteResourceSpec: { Kind: 'gpu', Value: 0 } }]))!.reason, /positive/);
  assert.match(checkHostAccess(g([{ DiscreteResourceSpec: { Kind: 'gpu', Value: 1 } }, { DiscreteResourceSpec: { Kind: 'gpu', Value: 1 } }]))!.reason, /duplicate/);
});

test('node generic resources: numbers are amounts; named units are refused until tasks are told theirs', () => {
  assert.equal(parseGenericResource('gpu=2'), { DiscreteResourceSpec: { Kind: 'gpu', Value: 2 } });
  assert.throws(() => parseGenericResource('gpu=GPU-3f1c'), /named units .*not supported yet.*DOCKER_RESOURCE/);
  assert.throws(() => parseGenericResource('gpu'), /KIND=N/);
  assert.throws(() => parseGenericResource('gpu=0'), /positive/);
  const named = (v: string) => ({ NamedResourceSpec: { Kind: 'fpga', Value: v } });
  assert.equal([...genericAmounts([parseGenericResource('gpu=2'), named('a'), named('b')])], [['gpu', 2], ['fpga', 2]]);
});

test('the service validator accepts Init, Devices, ShmSize and generic resources', () => {
  const spec = {
    Name: 'dev',
    TaskTemplate: {
      ContainerSpec: { Image: 'busybox', Init: true, ShmSize: 1 << 27, Devices: [{ PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' }] },
      Resources: { Reservations: { GenericResources: [{ DiscreteResourceSpec: { Kind: 'gpu', Value: 1 } }] } },
    },
  };
  validateServiceSpec(spec as never);
  spec.TaskTemplate.ContainerSpec.Devices[0].PathOnHost = 'tun';
  assert.throws(() => validateServiceSpec(spec as never), /Devices\[0\]\.PathOnHost/);
});

test.run();
