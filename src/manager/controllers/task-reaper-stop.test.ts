// The task reaper over a MemoryStore without Raft, its timers taken by the test: a pass
// held back by `intervalMs` sets a timer; when stop() cleared it, the next start sets one
// again instead of waiting for some later commit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import { aService, aTask } from '../../store/testing.ts';
import { nullLogger } from '../../common/logger.ts';
import { TaskReaperController } from './task-reaper.ts';
import { drain, takeTimers } from './testing.ts';

test('a delay timer cleared by stop() is set again after the next start', async () => {
  const store = new MemoryStore();
  const reaper = new TaskReaperController(store, nullLogger, { intervalMs: 600_000 });
  const timers = takeTimers(reaper);
  try {
    reaper.start();
    await drain(); // the initial pass runs at once
    const service = (await store.update((tx) => tx.create('service', aService('web', 1)))).value;
    await store.update((tx) => tx.create('task', aTask(service.ID, 1)));
    await drain();
    assert.is(timers.length, 1, 'the next pass waits out the interval');
    reaper.stop(); // leadership lost: the timer is gone
    reaper.start();
    await drain();
    assert.is(timers.length, 2, 'the new term sets its own timer');
  } finally {
    reaper.stop();
  }
});

test.run();
