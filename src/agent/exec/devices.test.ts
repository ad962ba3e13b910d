import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { INIT_PATH, devNumbers, findInit, ociDevices, type DeviceStat } from './devices.ts';
import { buildSpec, SpecError, type SpecContext } from './spec.ts';
import type { TaskContainerSpec } from './types.ts';

const ctx: SpecContext = {
  containerId: 'abcdef0123456789xyz', rootfs: '/d/rootfs', cgroupsPath: '/shoal-n1/abc', netnsPath: '/run/netns/t1',
  user: { uid: 0, gid: 0, additionalGids: [] }, volumePath: (n) => `/data/volumes/${n}/_data`, files: [],
};
const task = (extra: Partial<TaskContainerSpec> = {}): TaskContainerSpec => ({ taskId: 't1', image: 'bb', command: ['sh'], ...extra });

/** A stat answer for a character device 10:200 (/dev/net/tun), mode 0666. */
const tun: DeviceStat = {
  isCharacterDevice: () => true, isBlockDevice: () => false,
  rdev: (10n << 8n) | 200n, mode: 0o20666n, uid: 0n, gid: 0n,
};

test('device numbers decode the kernel dev_t encoding, large minors included', () => {
  assert.equal(devNumbers((10n << 8n) | 200n), { major: 10, minor: 200 });
  // major 7 minor 300: minor bits above 8 live at bit 20.
  assert.equal(devNumbers((7n << 8n) | (300n & 0xffn) | ((300n & ~0xffn) << 12n)), { major: 7, minor: 300 });
});

test('a device becomes a node in /dev and an allow rule with its permissions', () => {
  const [d] = ociDevices([{ hostPath: '/dev/net/tun', containerPath: '/dev/tun0', permissions: 'rw' }], () => tun);
  assert.equal(d.node, { path: '/dev/tun0', type: 'c', major: 10, minor: 200, fileMode: 0o666, uid: 0, gid: 0 });
  assert.equal(d.rule, { allow: true, type: 'c', major: 10, minor: 200, access: 'rw' });
});

test('a missing device or a plain file is a SpecError naming the path', () => {
  const enoent = () => { throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }); };
  assert.throws(() => ociDevices([{ hostPath: '/dev/nope' }], enoent), (e: unknown) => e instanceof SpecError && /\/dev\/nope: no such device/.test((e as Error).message));
  const file = { ...tun, isCharacterDevice: () => false };
  assert.throws(() => ociDevices([{ hostPath: '/etc/passwd' }], () => file), /not a character or block device/);
});

test('the spec carries devices, their cgroup rules after the deny-all, and the shm size', () => {
  const devices = ociDevices([{ hostPath: '/dev/net/tun' }], () => tun);
  const s = buildSpec({}, task({ devices: [{ hostPath: '/dev/net/tun' }], shmSize: 128 << 20 }), { ...ctx, devices });
  assert.equal(s.linux.devices, [devices[0].node]);
  assert.equal(s.linux.resources.devices, [{ allow: false, access: 'rwm' }, devices[0].rule]);
  const shm = s.mounts.find((m: { destination: string }) => m.destination === '/dev/shm');
  assert.ok(shm.options.includes(`size=${128 << 20}`));
  assert.throws(() => buildSpec({}, task({ devices: [{ hostPath: '/dev/net/tun' }] }), ctx), /not resolved/);
});

test('init runs the host tini read-only in front of the task command', () => {
  const s = buildSpec({}, task({ init: true }), { ...ctx, initPath: '/usr/bin/tini-static' });
  assert.equal(s.process.args, [INIT_PATH, '--', 'sh']);
  assert.ok(s.mounts.some((m: { destination: string; source: string; options: string[] }) => m.destination === INIT_PATH && m.source === '/usr/bin/tini-static' && m.options.includes('ro')));
  assert.equal(buildSpec({}, task(), ctx).process.args, ['sh']);
  assert.is(findInit((p) => p === '/usr/bin/docker-init'), '/usr/bin/docker-init');
  assert.throws(() => findInit(() => false), /apt install tini/);
});

test.run();
