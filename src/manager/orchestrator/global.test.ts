import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service } from '../../api/types/service.ts';
import type { Node } from '../../api/types/node.ts';
import type { Task } from '../../api/types/task.ts';
import { apply, ids, isEmpty, run, setState } from '../testing/apply.ts';
import { node, service } from '../testing/fixtures.ts';
import { reconcileGlobal, reconcileGlobalJob } from './global.ts';

const mon = (extra: Partial<Service['Spec']> = {}): Service => service('mon', { Mode: { Global: {} }, ...extra });
const wanted = (ts: Task[]) => ts.filter((t) => t.DesiredState === 'running').map((t) => t.NodeID).sort();

/** Reconciles and lets every new task run on its node. */
function converge(svc: Service, ts: Task[], ns: Node[], now = 0): Task[] {
  const r = reconcileGlobal(svc, ts, ns, { now, newId: ids(`x${now}-`) });
  let out = apply(ts, r);
  for (const t of r.create) out = run(out, t.ID, t.NodeID!);
  return out;
}

test('one task per ready, active node, named <service>.<node>.<id>', () => {
  const r = reconcileGlobal(mon(), [], [node('a'), node('b'), node('p', { availability: 'pause' }), node('d', { state: 'down' })], { now: 0, newId: ids() });
  assert.equal(r.create.map((t) => [t.NodeID, t.Slot, t.Name]), [
    ['a', 0, 'mon.a.t1'],
    ['b', 0, 'mon.b.t2'],
  ]);
});

test('follows nodes: added gets a task, drained and removed lose theirs, re-activated gets one back', () => {
  let ns = [node('a'), node('b')];
  let ts = converge(mon(), [], ns);
  assert.equal(wanted(ts), ['a', 'b']);
  ns = [...ns, node('c')];
  ts = converge(mon(), ts, ns, 1);
  assert.equal(wanted(ts), ['a', 'b', 'c']);
  ns = [node('a', { availability: 'drain' }), node('b'), node('c')];
  ts = converge(mon(), ts, ns, 2);
  assert.equal(wanted(ts), ['b', 'c']);
  ns = [node('a', { availability: 'drain' }), node('b')];
  ts = converge(mon(), ts, ns, 3);
  assert.equal(wanted(ts), ['b']);
  ns = [node('a'), node('b')];
  ts = setState(setState(ts, ts.find((t) => t.NodeID === 'a')!.ID, 'shutdown', 4), ts.find((t) => t.NodeID === 'c')!.ID, 'shutdown', 4);
  ts = converge(mon(), ts, ns, 4);
  assert.equal(wanted(ts), ['a', 'b']);
  assert.ok(isEmpty(reconcileGlobal(mon(), ts, ns, { now: 5, newId: ids() })));
});

test('a paused node keeps its task and gets no new one', () => {
  let ts = converge(mon(), [], [node('a'), node('b')]);
  const paused = [node('a', { availability: 'pause' }), node('b')];
  assert.ok(isEmpty(reconcileGlobal(mon(), ts, paused, { now: 1, newId: ids() })));
  ts = setState(ts, ts[0].ID, 'failed', 1);
  assert.ok(isEmpty(reconcileGlobal(mon(), ts, paused, { now: 2, newId: ids() })), 'no restart on a paused node');
});

test('only nodes matching the constraints get a task, and a node that stops matching loses it', () => {
  const svc = mon({ TaskTemplate: { ContainerSpec: { Image: 'x' }, Placement: { Constraints: ['node.labels.mon!=no'] } } });
  let ts = converge(svc, [], [node('a'), node('b', { labels: { mon: 'no' } })]);
  assert.equal(wanted(ts), ['a']);
  ts = converge(svc, ts, [node('a', { labels: { mon: 'no' } }), node('b', { labels: { mon: 'no' } })], 1);
  assert.equal(wanted(ts), []);
});

test('a failed task restarts on its node after the delay', () => {
  let ts = converge(mon(), [], [node('a')]);
  ts = setState(ts, ts[0].ID, 'failed', 100);
  const r = reconcileGlobal(mon(), ts, [node('a')], { now: 200, newId: ids('n') });
  assert.equal(r.create.map((t) => [t.NodeID, t.DesiredState]), [['a', 'ready']]);
  assert.is(r.wakeAt, 5200);
});

test('a global job runs once per node; completed nodes are done, new nodes get their run', () => {
  const job = service('once', { Mode: { GlobalJob: {} } });
  let ns = [node('a'), node('b')];
  let r = reconcileGlobalJob(job, [], ns, { now: 0, newId: ids('j') });
  assert.equal(r.create.map((t) => [t.NodeID, t.DesiredState]), [['a', 'complete'], ['b', 'complete']]);
  let ts = apply([], r);
  ts = setState(run(ts, 'j1', 'a', 'complete'), 'j1', 'complete', 10);
  ts = run(ts, 'j2', 'b', 'running');
  assert.ok(isEmpty(reconcileGlobalJob(job, ts, ns, { now: 20, newId: ids() })));
  ns = [...ns, node('c')];
  r = reconcileGlobalJob(job, ts, ns, { now: 30, newId: ids('k') });
  assert.equal(r.create.map((t) => t.NodeID), ['c']);
});

test.run();
