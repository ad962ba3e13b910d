import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service, ServiceSpec } from '../../../src/api/types/service.ts';
import type { Task } from '../../../src/api/types/task.ts';
import { applyUpdateFlags, parseMount, splitCommandLine } from './spec-flags.ts';
import { updateProgress } from './update-progress.ts';

const base = (): ServiceSpec => ({
  Name: 'web',
  Labels: { keep: '1', drop: '2' },
  Mode: { Replicated: { Replicas: 2 } },
  TaskTemplate: {
    ContainerSpec: { Image: 'img:v1', Env: ['A=1', 'B=2'], Labels: { c: '1' }, Mounts: [{ Type: 'tmpfs', Target: '/t' }] },
    Placement: { Constraints: ['node.role==worker'] },
    Networks: [{ Target: 'net1id' }],
    ForceUpdate: 0,
  },
  EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp' }] },
  UpdateConfig: { Parallelism: 1, Order: 'stop-first' },
});

test('image, env, labels, mounts and ports change as docker changes them', () => {
  const s = applyUpdateFlags(base(), {
    image: 'img:v2',
    'env-add': ['B=3', 'C=4'],
    'env-rm': ['A'],
    'label-add': ['new=x'],
    'label-rm': ['drop'],
    'container-label-rm': ['c'],
    'mount-add': ['type=bind,source=/src,target=/dst,readonly'],
    'mount-rm': ['/t'],
    'publish-rm': ['80'],
    'publish-add': ['9090:90'],
  });
  const c = s.TaskTemplate.ContainerSpec;
  assert.is(c.Image, 'img:v2');
  assert.equal(c.Env, ['B=3', 'C=4']);
  assert.equal(s.Labels, { keep: '1', new: 'x' });
  assert.equal(c.Labels, {});
  assert.equal(c.Mounts, [{ Type: 'bind', Source: '/src', Target: '/dst', ReadOnly: true }]);
  assert.equal(s.EndpointSpec!.Ports!.map((p) => [p.PublishedPort, p.TargetPort]), [[9090, 90]]);
});

test('networks by name, constraints, replicas, resources, health, restart, update configs and force', () => {
  const s = applyUpdateFlags(base(), {
    'network-rm': ['front'],
    'network-add': ['back'],
    'constraint-add': ['node.labels.zone==a'],
    'constraint-rm': ['node.role==worker'],
    replicas: 5,
    'limit-cpu': '0.5',
    'limit-memory': '64m',
    'health-cmd': 'wget -q localhost',
    'health-interval': 2e9,
    'restart-condition': 'on-failure',
    'update-parallelism': 3,
    'update-order': 'start-first',
    'update-max-failure-ratio': '0.25',
    'rollback-parallelism': 0,
    force: true,
  }, (ref) => (ref === 'front' ? 'net1id' : ref));
  assert.equal(s.TaskTemplate.Networks, [{ Target: 'back' }]);
  assert.equal(s.TaskTemplate.Placement!.Constraints, ['node.labels.zone==a']);
  assert.equal(s.Mode, { Replicated: { Replicas: 5 } });
  assert.equal(s.TaskTemplate.Resources!.Limits, { NanoCPUs: 5e8, MemoryBytes: 64 * 2 ** 20 });
  assert.equal(s.TaskTemplate.ContainerSpec.Healthcheck, { Test: ['CMD-SHELL', 'wget -q localhost'], Interval: 2e9 });
  assert.is(s.TaskTemplate.RestartPolicy!.Condition, 'on-failure');
  assert.equal(s.UpdateConfig, { Parallelism: 3, Order: 'start-first', MaxFailureRatio: 0.25 });
  assert.equal(s.RollbackConfig, { Parallelism: 0 });
  assert.is(s.TaskTemplate.ForceUpdate, 1);
  assert.equal(applyUpdateFlags(base(), { 'no-healthcheck': true }).TaskTemplate.ContainerSpec.Healthcheck, { Test: ['NONE'] });
});

test('bad values are refused with docker-like errors', () => {
  assert.throws(() => applyUpdateFlags(base(), { 'update-max-failure-ratio': '2' }), /between 0 and 1/);
  assert.throws(() => applyUpdateFlags({ ...base(), Mode: { Global: {} } }, { replicas: 2 }), /replicas can only be used/);
  assert.throws(() => applyUpdateFlags(base(), { 'network-add': ['net1id'] }), /already attached/);
  assert.throws(() => parseMount('type=bind,source=/x'), /target is required/);
  assert.throws(() => applyUpdateFlags(base(), { 'no-healthcheck': true, 'health-cmd': 'x' }), /conflicts/);
});

test('--args splits like a shell', () => {
  assert.equal(splitCommandLine(`sh -c "echo 'hi there'" x\\ y ''`), ['sh', '-c', "echo 'hi there'", 'x y', '']);
});

function svc(image: string, status?: Service['UpdateStatus']): Service {
  return { ID: 's', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Spec: { ...base(), TaskTemplate: { ContainerSpec: { Image: image } } }, ...(status ? { UpdateStatus: status } : {}) };
}
function tk(slot: number, image: string, state: Task['Status']['State']): Task {
  return { ID: `t${slot}${image}`, Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: { ContainerSpec: { Image: image } }, ServiceID: 's', Slot: slot, Status: { State: state, Timestamp: '', Message: '' }, DesiredState: 'running' };
}

test('update progress counts up-to-date running tasks and ends with the update', () => {
  const mid = updateProgress(svc('v2', { State: 'updating', Message: 'update in progress' }), [tk(1, 'v2', 'running'), tk(2, 'v1', 'running')]);
  assert.equal(mid.lines, ['overall progress: 1 out of 2 tasks', '1/2: running', '2/2: waiting for update']);
  assert.not.ok(mid.converged);
  const done = updateProgress(svc('v2', { State: 'completed', Message: 'update completed' }), [tk(1, 'v2', 'running'), tk(2, 'v2', 'running')]);
  assert.ok(done.converged);
  const paused = updateProgress(svc('v2', { State: 'paused', Message: 'update paused due to failure or early termination of task x' }), []);
  assert.is(paused.error, 'service update paused: update paused due to failure or early termination of task x');
  const back = updateProgress(svc('v1', { State: 'rollback_started', Message: 'update rolled back due to failure or early termination of task x' }), []);
  assert.is(back.rollback, 'update rolled back due to failure or early termination of task x');
});

test.run();
