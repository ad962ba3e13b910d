import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { task } from '../testing/fixtures.ts';
import { restartDecision, restartHistory } from './restart-policy.ts';

const S = 1e9;

test('default policy: restart any exit after 5 s', () => {
  assert.equal(restartDecision({ policy: undefined, exit: 'complete', endedAt: 100, restarts: [], now: 1000 }), { restart: true, at: 6000 });
  assert.equal(restartDecision({ policy: undefined, exit: 'failed', endedAt: 100, restarts: [], now: 1000 }), { restart: true, at: 6000 });
});

test('delay comes from the policy, in nanoseconds', () => {
  assert.equal(restartDecision({ policy: { Delay: 0 }, exit: 'failed', endedAt: 0, restarts: [], now: 7 }), { restart: true, at: 7 });
  assert.equal(restartDecision({ policy: { Delay: 2 * S }, exit: 'failed', endedAt: 0, restarts: [], now: 7 }), { restart: true, at: 2007 });
});

test('condition none never restarts; on-failure restarts failures only', () => {
  assert.is(restartDecision({ policy: { Condition: 'none' }, exit: 'failed', endedAt: 0, restarts: [], now: 0 }).restart, false);
  assert.is(restartDecision({ policy: { Condition: 'on-failure' }, exit: 'complete', endedAt: 0, restarts: [], now: 0 }).restart, false);
  assert.is(restartDecision({ policy: { Condition: 'on-failure' }, exit: 'failed', endedAt: 0, restarts: [], now: 0 }).restart, true);
  assert.is(restartDecision({ policy: { Condition: 'on-failure' }, exit: 'rejected', endedAt: 0, restarts: [], now: 0 }).restart, true);
});

test('jobs default to on-failure', () => {
  assert.is(restartDecision({ policy: undefined, exit: 'complete', endedAt: 0, restarts: [], now: 0, job: true }).restart, false);
  assert.is(restartDecision({ policy: undefined, exit: 'failed', endedAt: 0, restarts: [], now: 0, job: true }).restart, true);
});

test('max attempts without a window counts every earlier restart', () => {
  const p = { MaxAttempts: 2 };
  assert.is(restartDecision({ policy: p, exit: 'failed', endedAt: 50, restarts: [10], now: 60 }).restart, true);
  const no = restartDecision({ policy: p, exit: 'failed', endedAt: 50, restarts: [10, 20], now: 60 });
  assert.equal(no, { restart: false, reason: 'reached 2 restart attempts' });
});

test('max attempts within a window counts only restarts inside it, measured back from the end', () => {
  const p = { MaxAttempts: 2, Window: 10 * S };
  // restarts at 1 s and 5 s; the task ended at 12 s: only the one at 5 s is inside (2 s, 12 s].
  assert.is(restartDecision({ policy: p, exit: 'failed', endedAt: 12_000, restarts: [1_000, 5_000], now: 13_000 }).restart, true);
  const no = restartDecision({ policy: p, exit: 'failed', endedAt: 9_000, restarts: [1_000, 5_000], now: 60_000 });
  assert.equal(no, { restart: false, reason: 'reached 2 restart attempts within the window' });
});

test('restart history: creation times of the slot’s tasks of the same spec, without the first', () => {
  const v = (t: ReturnType<typeof task>, i: number, image = 'v1') => ({ ...t, SpecVersion: { Index: i }, Spec: { ContainerSpec: { Image: image } } });
  const tasks = [v(task('a', 's', { created: 100 }), 1, 'v0'), v(task('b', 's', { created: 200 }), 2), v(task('c', 's', { created: 300 }), 2), v(task('d', 's', { created: 400 }), 2)];
  assert.equal(restartHistory(tasks, tasks[3]), [300, 400]);
});

test('a write of the service that leaves its spec alone does not start the count over', () => {
  // The original ran at version 10; the allocator then wrote the service's endpoint (11),
  // the updater its status (12): restarts made since still count, max-attempts 2 holds.
  const v = (id: string, created: number, index: number) => ({ ...task(id, 's', { created, state: 'failed' }), SpecVersion: { Index: index } });
  const tasks = [v('a', 100, 10), v('b', 200, 11), v('c', 300, 12)];
  const restarts = restartHistory(tasks, tasks[2]);
  assert.equal(restarts, [200, 300]);
  assert.is(restartDecision({ policy: { MaxAttempts: 2 }, exit: 'failed', endedAt: 350, restarts, now: 400 }).restart, false);
});

test.run();
