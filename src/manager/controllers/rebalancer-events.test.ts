// Which task updates wake the rebalancer (pure).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task, TaskState } from '../../api/types/task.ts';
import { MOVED_FROM_LABEL } from '../orchestrator/rebalance.ts';
import { rebalanceMatters } from './rebalancer.ts';

function task(state: TaskState, desired: TaskState = 'running', nodeId = 'n1', labels: Record<string, string> = {}): Task {
  return { ID: 't', ServiceID: 's', Labels: labels, Status: { State: state }, DesiredState: desired, NodeID: nodeId } as Task;
}

test("a wanted task's steps towards running do not wake the rebalancer", () => {
  assert.not.ok(rebalanceMatters(task('assigned'), task('preparing')));
  assert.not.ok(rebalanceMatters(task('preparing'), task('starting')));
  assert.not.ok(rebalanceMatters(task('running'), task('running')), 'a repeated report');
});

test("arrival at running, leaving it, an end, a desired-state or node change, or a replacement's step do", () => {
  assert.ok(rebalanceMatters(task('starting'), task('running')));
  assert.ok(rebalanceMatters(task('running'), task('failed')));
  assert.ok(rebalanceMatters(task('preparing'), task('rejected')));
  assert.ok(rebalanceMatters(task('running'), task('running', 'shutdown')));
  assert.ok(rebalanceMatters(task('pending', 'running', ''), task('assigned', 'running', 'n2')), 'placed');
  const moved = { [MOVED_FROM_LABEL]: 'old' };
  assert.ok(rebalanceMatters(task('assigned', 'running', 'n2', moved), task('preparing', 'running', 'n2', moved)));
});

test.run();
