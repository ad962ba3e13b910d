import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { service, task } from '../testing/fixtures.ts';
import { tasksToDelete } from './task-reaper.ts';

const old = (id: string, slot: number, created: number) => task(id, 'web', { slot, created, state: 'failed', desired: 'shutdown' });

test('keeps at most 5 tasks per slot by default, counting the current one, deleting the oldest', () => {
  const ts = [...Array.from({ length: 7 }, (_, i) => old(`o${i}`, 1, i)), task('cur', 'web', { slot: 1, created: 100 })];
  assert.equal(tasksToDelete(ts).sort(), ['o0', 'o1', 'o2']);
});

test('slots and global nodes are counted separately; the limit is configurable', () => {
  const ts = [old('a1', 1, 1), old('a2', 1, 2), old('b1', 2, 1), { ...old('g1', 0, 1), NodeID: 'n1' }, { ...old('g2', 0, 2), NodeID: 'n1' }, { ...old('h1', 0, 1), NodeID: 'n2' }];
  assert.equal(tasksToDelete(ts, { limit: 1 }).sort(), ['a1', 'g1']);
  assert.equal(tasksToDelete(ts, { limit: -1 }), []);
});

test('never deletes a task that is still wanted, even over the limit', () => {
  const ts = [task('r1', 'web', { slot: 1, created: 1 }), task('r2', 'web', { slot: 1, created: 2, state: 'failed' })];
  assert.equal(tasksToDelete(ts, { limit: 0 }), []);
});

test('scaled-down tasks go once finished; finished tasks of deleted services go', () => {
  const ts = [
    task('x', 'web', { slot: 4, desired: 'remove', state: 'shutdown' }),
    task('y', 'web', { slot: 5, desired: 'remove', state: 'running' }),
    task('z', 'gone', { slot: 1, state: 'complete', desired: 'shutdown' }),
  ];
  assert.equal(tasksToDelete(ts, { services: new Map([['web', service('web')]]) }).sort(), ['x', 'z']);
});

test('a service with MaxAttempts keeps enough history to count its restarts', () => {
  const svc = service('web', { TaskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: { MaxAttempts: 7 } } });
  const ts = Array.from({ length: 8 }, (_, i) => old(`o${i}`, 1, i));
  assert.equal(tasksToDelete(ts, { services: new Map([['web', svc]]) }), []);
});

test.run();
