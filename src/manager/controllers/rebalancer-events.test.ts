// Which task updates wake the rebalancer, and when (pure).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task, TaskState } from '../../api/types/task.ts';
import { MOVED_FROM_LABEL } from '../orchestrator/rebalance.ts';
import { rebalanceWake } from './rebalancer.ts';

function task(state: TaskState, desired: TaskState = 'running', nodeId = 'n1', labels: Record<string, string> = {}): Task {
  return { ID: 't', ServiceID: 's', Labels: labels, Status: { State: state }, DesiredState: desired, NodeID: nodeId } as Task;
}

test("a wanted task's steps towards running do not wake the rebalancer", () => {
  assert.is(rebalanceWake(task('assigned'), task('preparing')), 'no');
  assert.is(rebalanceWake(task('preparing'), task('starting')), 'no');
  assert.is(rebalanceWake(task('running'), task('running')), 'no', 'a repeated report');
});

test('a placement and an arrival at running wake it later, with the others of that moment', () => {
  assert.is(rebalanceWake(task('pending', 'running', ''), task('assigned', 'running', 'n2')), 'later', 'placed');
  assert.is(rebalanceWake(task('starting'), task('running')), 'later', 'came up');
});

test("leaving running, an end, a desired-state change, a move between nodes, or a replacement's step wake it now", () => {
  assert.is(rebalanceWake(task('running'), task('failed')), 'now');
  assert.is(rebalanceWake(task('preparing'), task('rejected')), 'now');
  assert.is(rebalanceWake(task('pending', 'running', ''), task('rejected', 'running', 'n2')), 'now', 'placed and ended at once');
  assert.is(rebalanceWake(task('running'), task('running', 'shutdown')), 'now');
  assert.is(rebalanceWake(task('assigned', 'running', 'n1'), task('assigned', 'running', 'n2')), 'now');
  const moved = { [MOVED_FROM_LABEL]: 'old' };
  assert.is(rebalanceWake(task('assigned', 'running', 'n2', moved), task('preparing', 'running', 'n2', moved)), 'now');
  assert.is(rebalanceWake(task('starting', 'running', 'n2', moved), task('running', 'running', 'n2', moved)), 'now', 'a replacement up: its old task stops');
});

test.run();
