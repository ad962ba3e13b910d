// The base controller's own rules, with a bare subclass over a MemoryStore, and its set-once
// timer (arm once until fired, disarmed or stopped).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import { aService } from '../../store/testing.ts';
import { nullLogger, type Logger } from '../../common/logger.ts';
import { OnceTimer, StoreController } from './store-controller.ts';
import { drain, manualTimers, takeTimers } from './testing.ts';

/** A controller that calls markLater but forgot onLater (a programming error). */
class Forgetful extends StoreController {
  protected markAll(): void {}
  protected onEvent(): void {}
  protected async pass(): Promise<void> {}
  arrive(key: string): void {
    this.markLater(key);
  }
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('markLater without onLater logs and drops the key, arming no timer that would throw', () => {
  const errors: string[] = [];
  const logger: Logger = { ...nullLogger, error: (m) => errors.push(m), child: () => logger };
  const c = new Forgetful(new MemoryStore(), logger, []);
  c.start();
  try {
    const before = timeouts();
    c.arrive('svc-1');
    assert.equal(errors, ['store controller: markLater without onLater; key dropped']);
    assert.is(timeouts(), before, 'no timer was armed');
  } finally {
    c.stop();
  }
});

test('a once-timer arms once until it fires or is disarmed, and not while its controller is stopped', () => {
  const { timers, set } = manualTimers();
  let live = true;
  const fired: string[] = [];
  const t = new OnceTimer(set, () => live);
  assert.ok(t.arm(10, () => fired.push('first')));
  assert.not.ok(t.arm(5, () => fired.push('second')), 'already armed');
  assert.is(timers.length, 1);
  timers[0].fire();
  assert.equal(fired, ['first']);
  assert.not.ok(t.armed, 'unset when it fired');
  assert.ok(t.arm(20, () => fired.push('third')));
  t.disarm();
  assert.ok(timers[1].cancelled, 'disarm cancels the timer');
  assert.not.ok(t.armed);
  live = false;
  assert.not.ok(t.arm(30, () => {}), 'a stopped controller arms none');
  assert.is(timers.length, 2);
});

/** A controller whose every pass fails. */
class Failing extends StoreController {
  protected markAll(): void {}
  protected onEvent(): void {}
  protected async pass(): Promise<void> {
    throw new Error('no quorum');
  }
}


test('a failed pass arms the retry; a failure while it is pending sets it again; stop cancels it', async () => {
  const store = new MemoryStore();
  const c = new Failing(store, nullLogger, ['service']);
  const timers = takeTimers(c);
  try {
    c.start();
    await drain();
    assert.equal(timers.map((t) => [t.ms, t.cancelled]), [[200, false]], 'the initial pass failed: one retry');
    await store.update((tx) => void tx.create('service', aService('web', 1))); // a commit: a pass, which fails too
    await drain();
    assert.equal(timers.map((t) => [t.ms, t.cancelled]), [[200, true], [200, false]], 'the delay counts from the last failure');
    c.stop();
    assert.ok(timers[1].cancelled, 'stop cancels the retry');
    c.start();
    await drain();
    assert.is(timers.length, 3, 'the next term arms its own retry');
  } finally {
    c.stop();
  }
});

test.run();
