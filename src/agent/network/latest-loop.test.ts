import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LatestLoop, type LoopClock } from './latest-loop.ts';

/** Timers fired by hand. */
function fakeClock(): LoopClock & { timers: { ms: number; fn: () => void; live: boolean }[]; fire(): void } {
  const timers: { ms: number; fn: () => void; live: boolean }[] = [];
  return {
    timers,
    setTimer(ms, fn) { const t = { ms, fn, live: true }; timers.push(t); return () => { t.live = false; }; },
    fire() { for (const t of timers.splice(0)) if (t.live) t.fn(); },
  };
}

/** An apply whose calls wait for the test to release them. */
function controlled() {
  const calls: { value: number; done: (ok: boolean) => void }[] = [];
  const apply = (value: number) => new Promise<boolean>((ok) => calls.push({ value, done: ok }));
  const tick = () => new Promise((r) => setImmediate(r));
  return { calls, apply, tick };
}

test('values pushed during an apply collapse into the newest', async () => {
  const c = controlled();
  const loop = new LatestLoop(c.apply, { clock: fakeClock() });
  loop.push(1);
  loop.push(2);
  loop.push(3);
  await c.tick();
  assert.equal(c.calls.map((x) => x.value), [1]);
  c.calls[0].done(true);
  await c.tick();
  assert.equal(c.calls.map((x) => x.value), [1, 3]);
  c.calls[1].done(true);
  await loop.idle();
  assert.is(c.calls.length, 2);
});

test('a failed apply is retried after a doubling delay, capped; success resets it', async () => {
  const clock = fakeClock();
  let ok = false;
  const seen: number[] = [];
  const loop = new LatestLoop(async (v: number) => { seen.push(v); return ok; }, { clock, retryMs: 100, maxRetryMs: 300 });
  loop.push(7);
  await loop.idle();
  assert.equal(clock.timers.map((t) => t.ms), [100]);
  clock.fire();
  await loop.idle();
  assert.equal(clock.timers.map((t) => t.ms), [200]);
  clock.fire();
  await loop.idle();
  assert.equal(clock.timers.map((t) => t.ms), [300]);
  assert.is(loop.failed, 3);
  ok = true;
  clock.fire();
  await loop.idle();
  assert.is(loop.failed, 0);
  assert.equal(clock.timers, []);
  assert.equal(seen, [7, 7, 7, 7]);
});

test('a newer value cancels the pending retry and is applied at once; a rejection counts as a failure', async () => {
  const clock = fakeClock();
  const seen: number[] = [];
  const loop = new LatestLoop(async (v: number) => { seen.push(v); if (v === 1) throw new Error('boom'); return true; }, { clock });
  loop.push(1);
  await loop.idle();
  assert.is(clock.timers.length, 1);
  loop.push(2);
  await loop.idle();
  clock.fire(); // the cancelled retry does nothing
  await loop.idle();
  assert.equal(seen, [1, 2]);
});

test('again() re-applies the current value; stop() ends the loop', async () => {
  const seen: number[] = [];
  const loop = new LatestLoop(async (v: number) => { seen.push(v); return true; }, { clock: fakeClock() });
  loop.again(); // nothing pushed yet: nothing to do
  loop.push(4);
  await loop.idle();
  loop.again();
  await loop.idle();
  await loop.stop();
  loop.push(5);
  await loop.idle();
  assert.equal(seen, [4, 4]);
});

test.run();
