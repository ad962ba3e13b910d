import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildSpec, capabilities, mergeEnv, processArgs, SpecError, DEFAULT_CAPS, type SpecContext } from './spec.ts';
import type { TaskContainerSpec } from './types.ts';

const ctx: SpecContext = {
  containerId: 'abcdef0123456789xyz', rootfs: '/d/rootfs', cgroupsPath: '/shoal-n1/abc', netnsPath: '/run/netns/t1',
  user: { uid: 0, gid: 0, additionalGids: [] }, volumePath: (n) => `/data/volumes/${n}/_data`,
  files: [{ hostPath: '/run/shoal/t/secrets/0', target: '/run/secrets/pw' }],
};
const task = (extra: Partial<TaskContainerSpec> = {}): TaskContainerSpec => ({ taskId: 't1', image: 'bb', ...extra });

test('args replace the image Cmd and keep its Entrypoint', () => {
  assert.equal(processArgs({ Entrypoint: ['/init'], Cmd: ['a'] }, { args: ['b', 'c'] }), ['/init', 'b', 'c']);
});

test('command replaces the Entrypoint and drops the image Cmd', () => {
  assert.equal(processArgs({ Entrypoint: ['/init'], Cmd: ['a'] }, { command: ['/bin/sh'] }), ['/bin/sh']);
  assert.equal(processArgs({ Cmd: ['sh'] }, {}), ['sh']);
});

test('no command anywhere is a SpecError', () => {
  assert.throws(() => processArgs({}, {}), (e: unknown) => e instanceof SpecError);
});

test('task env overrides image env by key and PATH/HOSTNAME get defaults', () => {
  const env = mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4'], 'h');
  assert.equal(env.slice(0, 3), ['A=1', 'B=3', 'C=4']);
  assert.ok(env.some((e) => e.startsWith('PATH=/usr/local/sbin')));
  assert.ok(env.includes('HOSTNAME=h'));
  assert.ok(mergeEnv(['PATH=/x'], [], 'h').includes('PATH=/x'));
});

test('capabilities add and drop, with or without CAP_, and ALL', () => {
  const c = capabilities(['net_admin'], ['CAP_CHOWN']);
  assert.ok(c.includes('CAP_NET_ADMIN'));
  assert.not.ok(c.includes('CAP_CHOWN'));
  assert.equal(capabilities([], ['ALL']), []);
  assert.equal(capabilities(['SYS_ADMIN'], ['ALL']), ['CAP_SYS_ADMIN']);
  assert.ok(capabilities(['ALL']).includes('CAP_SYS_ADMIN'));
  assert.equal(capabilities().length, DEFAULT_CAPS.length);
});

test('buildSpec merges image config and task spec into one config.json', () => {
  const s = buildSpec(
    { Entrypoint: null, Cmd: ['sh'], Env: ['A=1'], WorkingDir: '/srv', Labels: { l: 'img' } },
    task({
      args: ['sleep', '9'], env: ['B=2'], dir: '/tmp', hostname: 'web-1', readOnly: true,
      sysctls: { 'net.ipv4.ip_forward': '1' }, ulimits: [{ name: 'nproc', soft: 10, hard: 20 }], labels: { l: 'task' },
      resources: { memoryBytes: 64 << 20, nanoCpus: 5e8, pidsLimit: 20 },
      mounts: [
        { type: 'bind', source: '/host', target: '/h', readOnly: true },
        { type: 'volume', source: 'data', target: '/v' },
        { type: 'tmpfs', target: '/t', tmpfsSize: 1 << 20 },
      ],
    }),
    ctx,
  );
  assert.equal(s.process.args, ['sleep', '9']);
  assert.is(s.process.cwd, '/tmp');
  assert.ok(s.process.env.includes('A=1') && s.process.env.includes('B=2'));
  assert.is(s.hostname, 'web-1');
  assert.is(s.root.readonly, true);
  assert.is(s.root.path, '/d/rootfs');
  assert.equal(s.linux.resources.memory, { limit: 64 << 20 });
  assert.equal(s.linux.resources.cpu, { period: 100000, quota: 50000 });
  assert.equal(s.linux.resources.pids, { limit: 20 });
  assert.is(s.linux.cgroupsPath, '/shoal-n1/abc');
  assert.equal(s.linux.namespaces.find((n: any) => n.type === 'network'), { type: 'network', path: '/run/netns/t1' });
  assert.is(s.linux.sysctl['net.ipv4.ip_forward'], '1');
  assert.ok(s.process.rlimits.some((r: any) => r.type === 'RLIMIT_NPROC' && r.hard === 20));
  assert.is(s.annotations.l, 'task');
  const byDest = Object.fromEntries(s.mounts.map((m: any) => [m.destination, m]));
  assert.equal(byDest['/h'].options, ['rbind', 'rprivate', 'ro']);
  assert.is(byDest['/v'].source, '/data/volumes/data/_data');
  assert.ok(byDest['/t'].options.includes('size=1048576'));
  assert.is(byDest['/run/secrets/pw'].source, '/run/shoal/t/secrets/0');
  assert.ok(byDest['/run/secrets/pw'].options.includes('ro'));
});

test('default hostname is the container ID prefix; bad mounts are SpecErrors', () => {
  assert.is(buildSpec({ Cmd: ['sh'] }, task(), ctx).hostname, 'abcdef012345');
  assert.throws(() => buildSpec({ Cmd: ['sh'] }, task({ mounts: [{ type: 'bind', source: 'rel', target: '/x' }] }), ctx), (e: unknown) => e instanceof SpecError);
  assert.throws(() => buildSpec({ Cmd: ['sh'] }, task({ mounts: [{ type: 'volume', source: '../x', target: '/x' }] }), ctx), (e: unknown) => e instanceof SpecError);
});

test.run();
