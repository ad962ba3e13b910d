import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AssignmentFanout } from './assignment-fanout.ts';

function recorder() {
  const calls: string[][] = [];
  return { calls, listener: (ids: string[]) => calls.push(ids) };
}

test('a commit wakes only the nodes whose tasks changed, with their task IDs', () => {
  const f = new AssignmentFanout();
  const a = recorder();
  const b = recorder();
  f.add('a', a.listener);
  f.add('b', b.listener);
  f.onTaskEvent({ object: { ID: 't1', NodeID: 'a' } });
  f.onTaskEvent({ object: { ID: 't2', NodeID: 'a' } });
  f.onTaskEvent({ object: { ID: 't1', NodeID: 'a' } });
  f.commit();
  assert.equal(a.calls, [['t1', 't2']]);
  assert.equal(b.calls, []);
  f.commit();
  assert.equal(a.calls.length, 1, 'marks are cleared by the commit');
});

test('a task that moved is dirty for the node it left and the node it went to', () => {
  const f = new AssignmentFanout();
  const a = recorder();
  const b = recorder();
  f.add('a', a.listener);
  f.add('b', b.listener);
  f.onTaskEvent({ object: { ID: 't1', NodeID: 'b' }, old: { NodeID: 'a' } });
  f.commit();
  assert.equal(a.calls, [['t1']]);
  assert.equal(b.calls, [['t1']]);
});

test('tasks of nodes without a session and without a node are not kept', () => {
  const f = new AssignmentFanout();
  f.onTaskEvent({ object: { ID: 't1', NodeID: 'gone' } });
  f.onTaskEvent({ object: { ID: 't2' } });
  const a = recorder();
  f.add('gone', a.listener);
  f.commit();
  assert.equal(a.calls, []);
});

test('every session of a node is told; a removed one no longer is', () => {
  const f = new AssignmentFanout();
  const old = recorder();
  const next = recorder();
  const removeOld = f.add('a', old.listener);
  f.add('a', next.listener);
  f.onTaskEvent({ object: { ID: 't1', NodeID: 'a' } });
  f.commit();
  removeOld();
  removeOld();
  f.onTaskEvent({ object: { ID: 't2', NodeID: 'a' } });
  f.commit();
  assert.equal(old.calls, [['t1']]);
  assert.equal(next.calls, [['t1'], ['t2']]);
  assert.is(f.nodes, 1);
});

test('marks of a node whose last session closed before the commit are dropped', () => {
  const f = new AssignmentFanout();
  const a = recorder();
  const remove = f.add('a', a.listener);
  f.onTaskEvent({ object: { ID: 't1', NodeID: 'a' } });
  remove();
  assert.is(f.nodes, 0);
  f.add('a', a.listener);
  f.commit();
  assert.equal(a.calls, []);
});

test.run();
