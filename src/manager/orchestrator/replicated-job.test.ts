import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { apply, ids, isEmpty, run, setState } from '../testing/apply.ts';
import { node, service } from '../testing/fixtures.ts';
import { nextJobStatus, reconcileReplicatedJob } from './replicated-job.ts';

const nodes = [node('a'), node('b')];
const job = (total: number, max: number, iteration = 0, extra: Partial<Service['Spec']> = {}): Service => ({
  ...service('batch', { Mode: { ReplicatedJob: { TotalCompletions: total, MaxConcurrent: max } }, ...extra }),
  JobStatus: { JobIteration: { Index: iteration } },
});

test('runs at most MaxConcurrent at a time until TotalCompletions complete; completions are never rerun', () => {
  const svc = job(5, 2);
  const newId = ids('j');
  let ts: Task[] = [];
  let r = reconcileReplicatedJob(svc, ts, nodes, { now: 0, newId });
  assert.equal(r.create.map((t) => [t.Slot, t.DesiredState, t.JobIteration?.Index]), [[1, 'complete', 0], [2, 'complete', 0]]);
  ts = apply(ts, r);
  for (let step = 1; step <= 10; step++) {
    // complete every running task, then reconcile
    for (const t of ts.filter((x) => x.Status.State === 'new')) ts = setState(run(ts, t.ID, 'a', 'running'), t.ID, 'complete', step);
    r = reconcileReplicatedJob(svc, ts, nodes, { now: step, newId });
    assert.ok(r.create.length <= 2);
    ts = apply(ts, r);
    if (r.create.length === 0) break;
  }
  assert.is(ts.length, 5);
  assert.equal(ts.map((t) => t.Slot).sort(), [1, 2, 3, 4, 5]);
  const done = reconcileReplicatedJob(svc, ts, nodes, { now: 99, newId });
  assert.ok(isEmpty(done));
  assert.equal(done.progress, { completed: 5, active: 0, total: 5 });
});

test('a failed run restarts per policy (default on-failure), keeping its slot', () => {
  const svc = job(1, 1);
  let ts = apply([], reconcileReplicatedJob(svc, [], nodes, { now: 0, newId: ids('j') }));
  ts = setState(run(ts, 'j1', 'a', 'running'), 'j1', 'failed', 100);
  const r = reconcileReplicatedJob(svc, ts, nodes, { now: 100, newId: ids('k') });
  assert.equal(r.create.map((t) => [t.Slot, t.DesiredState]), [[1, 'ready']]);
  assert.is(r.wakeAt, 5100);
  ts = apply(ts, r);
  const later = reconcileReplicatedJob(svc, ts, nodes, { now: 5100, newId: ids('z') });
  assert.equal(later.update.map((t) => [t.ID, t.DesiredState]), [['k1', 'complete']]);
});

test('a new job iteration stops the old runs and starts over', () => {
  let ts = apply([], reconcileReplicatedJob(job(2, 2), [], nodes, { now: 0, newId: ids('j') }));
  ts = setState(run(ts, 'j1', 'a', 'running'), 'j1', 'complete', 10);
  ts = run(ts, 'j2', 'b', 'running');
  const r = reconcileReplicatedJob(job(2, 2, 1), ts, nodes, { now: 20, newId: ids('k') });
  assert.equal(r.update.map((t) => [t.ID, t.DesiredState]), [['j2', 'shutdown']]);
  assert.equal(r.create.map((t) => [t.Slot, t.JobIteration?.Index]), [[1, 1], [2, 1]]);
});

test('restart condition none: a job on an overlay network that exits 1 (or is rejected) runs once', () => {
  for (const end of ['failed', 'rejected'] as const) {
    const template = { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'net1' }], RestartPolicy: { Condition: 'none' as const } };
    let svc = job(1, 1, 0, { TaskTemplate: template });
    let ts = apply([], reconcileReplicatedJob(svc, [], nodes, { now: 0, newId: ids('j') }));
    assert.is(ts.length, 1);
    // The allocator attaches the network and gives the service its VIP (a new service version).
    ts = ts.map((t) => ({ ...t, NetworksAttachments: [{ Network: { ID: 'net1', Spec: { Name: 'net1' } }, Addresses: ['10.0.1.3/24'] }] }));
    svc = { ...svc, Version: { Index: svc.Version.Index + 1 }, Endpoint: { Spec: {}, VirtualIPs: [{ NetworkID: 'net1', Addr: '10.0.1.2/24' }] } };
    ts = setState(run(ts, 'j1', 'a', 'running'), 'j1', end, 100);
    for (const now of [100, 10_000, 1e9]) {
      const r = reconcileReplicatedJob(svc, ts, nodes, { now, newId: ids('x') });
      assert.equal(r.create, [], `${end}: not run again at ${now}`);
      assert.equal(r.update, []);
      ts = apply(ts, r);
    }
  }
});

test('JobStatus: iteration 0 at creation, the replaced version on every update; none for other modes', () => {
  const svc = job(1, 1);
  assert.equal(nextJobStatus(svc.Spec, undefined, 0), { JobIteration: { Index: 0 }, LastExecution: '1970-01-01T00:00:00.000Z' });
  assert.equal(nextJobStatus(svc.Spec, { ...svc, Version: { Index: 42 } }, 1000)?.JobIteration, { Index: 42 });
  assert.is(nextJobStatus(service('web').Spec, undefined, 0), undefined);
  assert.ok(nextJobStatus({ ...service('g').Spec, Mode: { GlobalJob: {} } }, undefined, 0));
});

test.run();
