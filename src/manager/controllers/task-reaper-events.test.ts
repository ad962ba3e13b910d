// Which store changes wake the task reaper (pure).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task, TaskState } from '../../api/types/task.ts';
import type { ObjectEvent } from '../../store/index.ts';
import { reapMatters } from './task-reaper.ts';

function task(state: TaskState, desired: TaskState = 'running'): Task {
  return {
    ID: 't1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: { ContainerSpec: { Image: 'bb' } }, ServiceID: 's1', Slot: 1,
    Status: { Timestamp: '', State: state, Message: '' }, DesiredState: desired,
  } as Task;
}
const updated = (old: Task, t: Task) => ({ kind: 'task.updated', object: t, old }) as ObjectEvent;

test('the steps of a wanted task towards running do not wake the reaper', () => {
  assert.not.ok(reapMatters(updated(task('pending'), task('assigned'))));
  assert.not.ok(reapMatters(updated(task('preparing'), task('running'))));
});

test('an end, a desired-state change, a new task, a deleted service or a new limit do', () => {
  assert.ok(reapMatters(updated(task('running'), task('failed'))), 'ended');
  assert.ok(reapMatters(updated(task('running'), task('running', 'shutdown'))), 'no longer wanted');
  assert.ok(reapMatters({ kind: 'task.created', object: task('new') } as ObjectEvent));
  assert.ok(reapMatters({ kind: 'service.deleted', object: { ID: 's1' } } as ObjectEvent));
  assert.ok(reapMatters({ kind: 'cluster.updated', object: {}, old: {} } as ObjectEvent));
  assert.not.ok(reapMatters({ kind: 'node.updated', object: {}, old: {} } as ObjectEvent));
});

test.run();
