import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HealthMonitor, HealthState, healthDefaults, probeArgv, type Clock } from './health.ts';

class ManualClock implements Clock {
  t = 0;
  timers: { at: number; fn: () => void }[] = [];
  now() { return this.t; }
  setTimer(ms: number, fn: () => void) { const x = { at: this.t + ms, fn }; this.timers.push(x); return () => { this.timers = this.timers.filter((y) => y !== x); }; }
  async advance(ms: number) {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.fn();
    await new Promise((r) => setImmediate(r));
  }
}

const cfg = healthDefaults({ test: ['CMD', 'true'], intervalMs: 10, retries: 2, startPeriodMs: 100 });
const r = (exitCode: number, start: number) => ({ exitCode, output: '', start, end: start });

test('probe argv follows CMD, CMD-SHELL and NONE', () => {
  assert.equal(probeArgv(['CMD', 'a', 'b']), ['a', 'b']);
  assert.equal(probeArgv(['CMD-SHELL', 'x && y']), ['/bin/sh', '-c', 'x && y']);
  assert.is(probeArgv(['NONE']), undefined);
});

test('failures inside the start period do not count while starting', () => {
  const h = new HealthState(cfg, 0);
  assert.is(h.record(r(1, 10)), 'starting');
  assert.is(h.record(r(1, 20)), 'starting');
  assert.is(h.failingStreak, 0);
  assert.is(h.record(r(1, 150)), 'starting');
  assert.is(h.record(r(1, 160)), 'unhealthy');
});

test('one success makes healthy, retries consecutive failures make unhealthy, success recovers', () => {
  const h = new HealthState(cfg, 0);
  assert.is(h.record(r(0, 5)), 'healthy');
  assert.is(h.record(r(1, 200)), 'healthy');
  assert.is(h.record(r(0, 210)), 'healthy');
  assert.is(h.failingStreak, 0);
  h.record(r(1, 220));
  assert.is(h.record(r(1, 230)), 'unhealthy');
  assert.is(h.record(r(0, 240)), 'healthy');
  assert.ok(h.log.length <= 5);
});

test('monitor probes every interval and emits status changes', async () => {
  const clock = new ManualClock();
  const results = [0, 1, 1];
  const seen: string[] = [];
  const m = new HealthMonitor({ test: ['CMD', 'x'], intervalMs: 10, retries: 2 }, async () => ({ exitCode: results.shift() ?? 0, output: '' }), clock);
  m.on('status', (s) => seen.push(s));
  m.start();
  await clock.advance(9);
  assert.equal(seen, []);
  for (let i = 0; i < 3; i++) await clock.advance(10);
  assert.equal(seen, ['healthy', 'unhealthy']);
  m.stop();
  assert.is(clock.timers.length, 0);
});

test.run();
