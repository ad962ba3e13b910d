import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task } from '../../api/types/task.ts';
import type { ContainerView } from './view.ts';
import { containerName, humanDuration, statusText } from './view.ts';
import { inspectOf, summaryOf } from './shapes.ts';
import { FilterError, selectContainers } from './filters.ts';

const T0 = Date.parse('2026-12-06T10:00:00Z');

/** A task container view as the engine joins it (no I/O). */
export function view(over: Partial<ContainerView> & { taskId?: string; service?: string; slot?: number } = {}): ContainerView {
  const taskId = over.taskId ?? 'abcdefghijklmnopqrstuvwxy';
  const service = over.service ?? 'web';
  const task = {
    ID: taskId, ServiceID: 'svc1', Slot: over.slot ?? 2, NodeID: 'node1', ServiceAnnotations: { Name: service },
    NetworksAttachments: [{ Network: { ID: 'net0123456789', Spec: { Name: 'backend' } }, Addresses: ['10.0.1.5/24'], Aliases: ['web'] }],
  } as unknown as Task;
  return {
    cid: taskId,
    spec: {
      taskId, image: 'busybox:latest', env: ['A=1'],
      labels: { 'com.docker.swarm.task.id': taskId, 'com.docker.swarm.service.name': service, 'com.docker.swarm.node.id': 'node1', team: 'blue' },
      mounts: [{ type: 'volume', source: 'data', target: '/data' }],
      resources: { memoryBytes: 64 << 20 },
    },
    state: 'running',
    record: {
      taskId, cid: taskId, spec: {} as never, imageId: 'sha256:feedbeef00', image: { Cmd: ['sh'] }, state: 'running', netns: null,
      netnsPath: '/run/netns/x', cgroup: '/shoal-n1/' + taskId, pid: 4242, createdAt: new Date(T0).toISOString(), startedAt: new Date(T0 + 1000).toISOString(),
    },
    task,
    process: { args: ['sleep', '1000'], env: ['PATH=/bin', 'A=1'], cwd: '/', user: { uid: 0, gid: 0 } },
    paths: { rootfs: '/r', upper: '/u', work: '/w', logFile: '/l', hosts: '/h', hostname: '/hn', resolvConf: '/rc' },
    execIds: [],
    ...over,
  };
}

test('a task container is named SERVICE.SLOT.TASKID, global ones SERVICE.NODEID.TASKID', () => {
  assert.is(containerName(view()), 'web.2.abcdefghijklmnopqrstuvwxy');
  assert.is(containerName(view({ slot: 0 })), 'web.node1.abcdefghijklmnopqrstuvwxy');
});

test('status text reads as docker ps prints it', () => {
  assert.is(statusText(view(), T0 + 1000 + 5 * 60_000), 'Up 5 minutes');
  assert.is(statusText(view({ health: { status: 'healthy', failingStreak: 0 } }), T0 + 61_000), 'Up About a minute (healthy)');
  const exited = view({ state: 'exited' });
  exited.record = { ...exited.record!, exit: { exitCode: 137, oomKilled: false }, finishedAt: new Date(T0).toISOString() };
  assert.is(statusText(exited, T0 + 2000), 'Exited (137) 2 seconds ago');
  assert.is(humanDuration(3 * 3600_000), '3 hours');
});

test('summary has the fields docker ps --format reads', () => {
  const s = summaryOf(view(), T0 + 10_000) as any;
  assert.is(s.Id, 'abcdefghijklmnopqrstuvwxy');
  assert.equal(s.Names, ['/web.2.abcdefghijklmnopqrstuvwxy']);
  assert.is(s.Image, 'busybox:latest');
  assert.is(s.ImageID, 'sha256:feedbeef00');
  assert.is(s.Command, 'sleep 1000');
  assert.is(s.State, 'running');
  assert.is(s.Created, T0 / 1000);
  assert.is(s.Labels['com.docker.swarm.task.name'], 'web.2.abcdefghijklmnopqrstuvwxy');
  assert.is(s.NetworkSettings.Networks.backend.IPAddress, '10.0.1.5');
  assert.is(s.Mounts[0].Name, 'data');
});

test('inspect carries state, exit code, OOM, config, host config and overlay addresses', () => {
  const v = view({ state: 'exited' });
  v.record = { ...v.record!, exit: { exitCode: 137, oomKilled: true }, finishedAt: new Date(T0 + 5000).toISOString() };
  const d = inspectOf(v, (n) => `/vol/${n}/_data`) as any;
  assert.is(d.State.Status, 'exited');
  assert.is(d.State.ExitCode, 137);
  assert.is(d.State.OOMKilled, true);
  assert.is(d.State.Running, false);
  assert.is(d.Path, 'sleep');
  assert.equal(d.Args, ['1000']);
  assert.is(d.Name, '/web.2.abcdefghijklmnopqrstuvwxy');
  assert.is(d.HostConfig.Memory, 64 << 20);
  assert.is(d.Mounts[0].Source, '/vol/data/_data');
  assert.equal(d.Config.Env, ['PATH=/bin', 'A=1']);
  assert.is(d.NetworkSettings.Networks.backend.IPPrefixLen, 24);
  assert.is(d.NetworkSettings.Networks.backend.NetworkID, 'net0123456789');
  assert.is(d.NetworkSettings.SandboxKey, '/run/netns/x');
});

const f = (o: Record<string, string[]>) => new Map(Object.entries(o));

test('filters select by id, name, label, status, ancestor, network and volume', () => {
  const a = view();
  const b = view({ taskId: 'zzzz00000000000000000000', service: 'db', state: 'exited' });
  const all = [a, b];
  const ids = (o: Record<string, string[]>, all2 = true) => selectContainers(all, { all: all2, filters: f(o) }).map((v) => v.cid.slice(0, 4));
  assert.equal(ids({}, false), ['abcd'], 'running only without all');
  assert.equal(ids({ id: ['zz'] }), ['zzzz']);
  assert.equal(ids({ name: ['web'] }), ['abcd']);
  assert.equal(ids({ name: ['^/db\\.'] }), ['zzzz']);
  assert.equal(ids({ label: ['com.docker.swarm.service.name=db'] }), ['zzzz']);
  assert.equal(ids({ label: ['team'] }).length, 2);
  assert.equal(ids({ status: ['exited'] }, false), ['zzzz'], 'status implies all');
  assert.equal(ids({ ancestor: ['busybox'] }).length, 2);
  assert.equal(ids({ ancestor: ['alpine'] }), []);
  assert.equal(ids({ ancestor: ['feedbeef'] }).length, 2);
  assert.equal(ids({ network: ['backend'] }).length, 2);
  assert.equal(ids({ network: ['frontend'] }), []);
  assert.equal(ids({ volume: ['data'] }).length, 2);
  assert.equal(ids({ volume: ['/data'] }).length, 2);
});

test('unknown, unsupported and bad filters are refused by name', () => {
  assert.throws(() => selectContainers([], { filters: f({ bogus: ['x'] }) }), (e: Error) => e instanceof FilterError && /bogus/.test(e.message));
  assert.throws(() => selectContainers([], { filters: f({ publish: ['80'] }) }), /publish.*not supported/);
  assert.throws(() => selectContainers([], { filters: f({ status: ['sleeping'] }) }), /status=sleeping/);
});

test('a standalone container is no task and is found by its name and network', () => {
  const task = view({ taskId: 'task1' });
  const sa = view({ taskId: 'solo', task: undefined, name: 'web', standaloneNetworks: ['bridge'], spec: { taskId: 'solo', image: 'busybox' } });
  const names = (o: Record<string, string[]>) => selectContainers([task, sa], { all: true, filters: f(o) }).map((v) => containerName(v));
  assert.equal(names({ 'is-task': ['false'] }), ['web']);
  assert.equal(names({ 'is-task': ['true'] }), ['web.2.task1']);
  assert.equal(names({ network: ['bridge'] }), ['web']);
  assert.equal(names({ name: ['^/web$'] }), ['web']);
  assert.equal(summaryOf(sa, T0).Labels, {}, 'no swarm labels on a standalone container');
});

test.run();
