// Which task updates make the orchestrator reconcile a service again (taskUpdateMatters).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task, TaskState } from '../../api/types/task.ts';
import { onlyReachedRunning, taskUpdateMatters } from './orchestrator.ts';
import { MOVED_FROM_LABEL } from '../orchestrator/rebalance.ts';

function task(state: TaskState, desired: TaskState = 'running', nodeId?: string): Task {
  return { ID: 't', ServiceID: 's', Status: { State: state }, DesiredState: desired, ...(nodeId ? { NodeID: nodeId } : {}) } as Task;
}

test('the steps of a wanted task on its way to running do not matter', () => {
  assert.not.ok(taskUpdateMatters(task('new'), task('pending')));
  assert.not.ok(taskUpdateMatters(task('pending'), task('assigned', 'running', 'n1')), 'the scheduler placing it');
  assert.not.ok(taskUpdateMatters(task('assigned', 'running', 'n1'), task('preparing', 'running', 'n1')));
  assert.not.ok(taskUpdateMatters(task('running', 'running', 'n1'), task('running', 'running', 'n1')), 'a repeated report');
});

test('reaching running, failing, ending or a desired-state change matter', () => {
  assert.ok(taskUpdateMatters(task('starting', 'running', 'n1'), task('running', 'running', 'n1')));
  assert.ok(taskUpdateMatters(task('running', 'running', 'n1'), task('failed', 'running', 'n1')));
  assert.ok(taskUpdateMatters(task('preparing', 'running', 'n1'), task('rejected', 'running', 'n1')));
  assert.ok(taskUpdateMatters(task('running', 'running', 'n1'), task('complete', 'running', 'n1')));
  assert.ok(taskUpdateMatters(task('pending'), task('pending', 'shutdown')));
  assert.ok(taskUpdateMatters(task('ready', 'ready'), task('ready', 'running')), 'a restart delay ends');
});

test('reaching running alone is told apart (reconciled a little later, with the others of that moment)', () => {
  assert.ok(onlyReachedRunning(task('starting', 'running', 'n1'), task('running', 'running', 'n1')));
  assert.not.ok(onlyReachedRunning(task('running', 'running', 'n1'), task('failed', 'running', 'n1')), 'an end');
  assert.not.ok(onlyReachedRunning(task('starting', 'running', 'n1'), task('running', 'shutdown', 'n1')), 'desired state changed too');
  const moved = { ...task('running', 'running', 'n2'), Labels: { [MOVED_FROM_LABEL]: 'old' } };
  assert.not.ok(onlyReachedRunning(task('starting', 'running', 'n2'), moved), 'a rebalancer replacement');
});

test.run();
