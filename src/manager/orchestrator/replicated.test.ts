import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { apply, ids, isEmpty, run, setState } from '../testing/apply.ts';
import { node, service, task } from '../testing/fixtures.ts';
import { reconcileReplicated, slotsToRemove } from './replicated.ts';

const web = (replicas: number, extra: Partial<Service['Spec']> = {}): Service => service('web', { Mode: { Replicated: { Replicas: replicas } }, ...extra });
const nodes = [node('a'), node('b'), node('c')];
const live = (ts: Task[]) => ts.filter((t) => t.DesiredState === 'running' || t.DesiredState === 'ready');
const slots = (ts: Task[]) => live(ts).map((t) => t.Slot).sort();

/** A service whose slots 1..n run on the given nodes. */
function running(placement: string[], svc = web(placement.length)): Task[] {
  return placement.map((n, i) => ({ ...task(`r${i + 1}`, 'web', { slot: i + 1, node: n, created: 0, spec: svc.Spec.TaskTemplate }), SpecVersion: { Index: svc.Version.Index } }));
}

test('creates one task per slot, named <service>.<slot>.<id>, and then nothing more', () => {
  const ctx = { now: 1000, newId: ids() };
  const r = reconcileReplicated(web(3), [], nodes, ctx);
  assert.equal(r.create.map((t) => [t.Slot, t.Name, t.DesiredState, t.Status.State]), [
    [1, 'web.1.t1', 'running', 'new'],
    [2, 'web.2.t2', 'running', 'new'],
    [3, 'web.3.t3', 'running', 'new'],
  ]);
  assert.is(r.create[0].SpecVersion?.Index, 10);
  assert.ok(isEmpty(reconcileReplicated(web(3), apply([], r), nodes, ctx)));
});

test('scale up fills the lowest free slots', () => {
  const ts = running(['a', 'b', 'c']).filter((t) => t.Slot !== 2);
  const r = reconcileReplicated(web(4), ts, nodes, { now: 0, newId: ids() });
  assert.equal(r.create.map((t) => t.Slot), [2, 4]);
});

test('scale down of a balanced service removes the highest slots', () => {
  const ts = running(['a', 'b', 'c', 'a', 'b', 'c']);
  const r = reconcileReplicated(web(3), ts, nodes, { now: 0, newId: ids() });
  assert.equal(r.update.map((t) => [t.Slot, t.DesiredState]), [[4, 'remove'], [5, 'remove'], [6, 'remove']]);
  assert.is(r.create.length, 0);
});

test('scale down removes from the nodes with the most tasks of the service first', () => {
  const ts = running(['a', 'a', 'a', 'b', 'c']);
  const r = reconcileReplicated(web(3), ts, nodes, { now: 0, newId: ids() });
  assert.equal(r.update.map((t) => t.Slot).sort(), [2, 3]);
  assert.equal(slots(apply(ts, r)), [1, 4, 5]);
});

test('scale down prefers tasks not yet assigned, then tasks not running', () => {
  const ts = running(['a', 'b', 'c']);
  ts[2] = { ...ts[2], NodeID: undefined, Status: { ...ts[2].Status, State: 'pending' } };
  assert.equal(slotsToRemove(ts.map((t) => ({ slot: t.Slot!, task: t, running: t.Status.State === 'running' })), 2), [3]);
  const ts2 = setState(running(['a', 'b']), 'r1', 'starting');
  assert.equal(slotsToRemove(ts2.map((t) => ({ slot: t.Slot!, task: t, running: t.Status.State === 'running' })), 1), [1]);
});

test('a failed task is replaced in its slot after the restart delay', () => {
  const svc = web(2);
  let ts = setState(running(['a', 'b'], svc), 'r2', 'failed', 500);
  const ctx = { now: 1000, newId: ids('n') };
  const r = reconcileReplicated(svc, ts, nodes, ctx);
  assert.equal(r.update.map((t) => [t.ID, t.DesiredState]), [['r2', 'shutdown']]);
  assert.equal(r.create.map((t) => [t.Slot, t.DesiredState]), [[2, 'ready']]);
  assert.is(r.wakeAt, 6000);
  ts = apply(ts, r);
  const early = reconcileReplicated(svc, ts, nodes, { ...ctx, now: 5999 });
  assert.ok(isEmpty(early));
  assert.is(early.wakeAt, 6000);
  const due = reconcileReplicated(svc, ts, nodes, { ...ctx, now: 6000 });
  assert.equal(due.update.map((t) => [t.ID, t.DesiredState]), [['n1', 'running']]);
  assert.is(due.create.length, 0);
});

test('restart condition none leaves the slot empty and does not refill it', () => {
  const svc = web(2, { TaskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: { Condition: 'none' } } });
  const ts = setState(running(['a', 'b'], svc), 'r2', 'failed', 500);
  assert.ok(isEmpty(reconcileReplicated(svc, ts, nodes, { now: 1000, newId: ids() })));
});

test('on-failure does not restart a task that completed', () => {
  const svc = web(1, { TaskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: { Condition: 'on-failure' } } });
  const ts = setState(running(['a'], svc), 'r1', 'complete', 500);
  assert.ok(isEmpty(reconcileReplicated(svc, ts, nodes, { now: 1000, newId: ids() })));
});

test('max attempts: a slot stops restarting after N restarts', () => {
  const svc = web(1, { TaskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: { MaxAttempts: 2, Delay: 0 } } });
  let ts = running(['a'], svc);
  const ctx = { now: 0, newId: ids('n') };
  for (let i = 1; i <= 3; i++) {
    const cur = live(ts)[0];
    ts = setState(run(ts, cur.ID, 'a', 'running'), cur.ID, 'failed', i * 1000);
    const r = reconcileReplicated(svc, ts, nodes, { ...ctx, now: i * 1000 });
    if (i <= 2) assert.is(r.create.length, 1, `restart ${i}`);
    else assert.ok(isEmpty(r), 'gave up after 2 restarts');
    ts = apply(ts, r);
  }
});

test('tasks on a node that goes down are replaced at once', () => {
  const ts = running(['a', 'b', 'c']);
  const down = [node('a'), node('b', { state: 'down' }), node('c')];
  const r = reconcileReplicated(web(3), ts, down, { now: 0, newId: ids('n') });
  assert.equal(r.update.map((t) => [t.ID, t.DesiredState]), [['r2', 'shutdown']]);
  assert.equal(r.create.map((t) => [t.Slot, t.DesiredState, t.NodeID]), [[2, 'running', undefined]]);
  assert.is(r.wakeAt, undefined);
});

test('drain moves tasks away; a paused or unknown node keeps them', () => {
  const ts = running(['a', 'b', 'c']);
  const r = reconcileReplicated(web(3), ts, [node('a', { availability: 'drain' }), node('b', { availability: 'pause' }), node('c', { state: 'unknown' })], { now: 0, newId: ids('n') });
  assert.equal(r.update.map((t) => t.ID), ['r1']);
  assert.equal(r.create.map((t) => t.Slot), [1]);
});

test('a removed node’s tasks are replaced', () => {
  const r = reconcileReplicated(web(2), running(['a', 'gone']), nodes, { now: 0, newId: ids('n') });
  assert.equal(r.update.map((t) => t.ID), ['r2']);
  assert.equal(r.create.map((t) => t.Slot), [2]);
});

test('tasks on nodes that no longer match the constraints are replaced', () => {
  const svc = web(2, { TaskTemplate: { ContainerSpec: { Image: 'x' }, Placement: { Constraints: ['node.labels.disk==ssd'] } } });
  const ns = [node('a', { labels: { disk: 'ssd' } }), node('b', { labels: { disk: 'hdd' } })];
  const r = reconcileReplicated(svc, running(['a', 'b'], svc), ns, { now: 0, newId: ids('n') });
  assert.equal(r.update.map((t) => t.ID), ['r2']);
  assert.equal(r.create.map((t) => t.Slot), [2]);
});

test('a duplicate task in a slot is shut down, the running one kept', () => {
  const ts = [...running(['a']), { ...task('dup', 'web', { slot: 1, node: 'b', state: 'starting', created: 5 }), SpecVersion: { Index: 10 } }];
  const r = reconcileReplicated(web(1), ts, nodes, { now: 0, newId: ids() });
  assert.equal(r.update.map((t) => [t.ID, t.DesiredState]), [['dup', 'shutdown']]);
});

test('a finished task of an older spec is replaced at once, whatever the policy', () => {
  const svc = web(1, { TaskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: { Condition: 'none' } } });
  const older = web(1, { TaskTemplate: { ContainerSpec: { Image: 'old' }, RestartPolicy: { Condition: 'none' } } });
  const ts = setState(running(['a'], { ...older, Version: { Index: 3 } }), 'r1', 'failed', 10);
  const r = reconcileReplicated(svc, ts, nodes, { now: 0, newId: ids('n') });
  assert.equal(r.create.map((t) => [t.Slot, t.DesiredState]), [[1, 'running']]);
});

test.run();
