import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { task } from '../manager/testing/fixtures.ts';
import { TaskStateError, assertForward, withDesiredState, withState } from './task-state.ts';

const throwsStateError = (fn: () => unknown) => assert.throws(fn, (e: Error) => e instanceof TaskStateError);

test('a task moves forward through its states', () => {
  const t = task('a', 's', { state: 'assigned' });
  const r = withState(t, 'running', { now: 1000, message: 'started' });
  assert.is(r.Status.State, 'running');
  assert.is(r.Status.Timestamp, new Date(1000).toISOString());
  assert.is(t.Status.State, 'assigned', 'input unchanged');
});

test('a backward move throws', () => {
  throwsStateError(() => assertForward('running', 'starting'));
  throwsStateError(() => withState(task('a', 's', { state: 'running' }), 'pending', { now: 0 }));
});

test('a finished state is final, even to another finished state', () => {
  throwsStateError(() => assertForward('failed', 'shutdown'));
  throwsStateError(() => assertForward('complete', 'running'));
  assertForward('failed', 'failed');
});

test('desired state only moves forward: running → shutdown → remove, never back', () => {
  const t = withDesiredState(task('a', 's'), 'shutdown');
  assert.is(withDesiredState(t, 'remove').DesiredState, 'remove');
  throwsStateError(() => withDesiredState(t, 'running'));
  assert.is(withDesiredState(task('b', 's', { desired: 'ready' }), 'running').DesiredState, 'running');
});

test.run();
