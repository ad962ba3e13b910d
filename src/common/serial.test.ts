import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyedLock, mapLimit } from './serial.ts';

/** A promise resolved from outside, so the tests control the order without timers. */
function gate(): { p: Promise<void>; open: () => void } {
  let open = () => {};
  const p = new Promise<void>((ok) => { open = ok; });
  return { p, open };
}

test('KeyedLock: one key runs in call order, other keys do not wait', async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const g = gate();
  const a = lock.run('k', async () => { log.push('a start'); await g.p; log.push('a end'); });
  const b = lock.run('k', async () => { log.push('b'); });
  const c = lock.run('other', async () => { log.push('c'); });
  await c;
  assert.equal(log, ['a start', 'c']);
  g.open();
  await Promise.all([a, b]);
  assert.equal(log, ['a start', 'c', 'a end', 'b']);
});

test('KeyedLock: a failure rejects its caller only; the next one still runs', async () => {
  const lock = new KeyedLock();
  const a = lock.run('k', async () => { throw new Error('boom'); });
  const b = lock.run('k', async () => 7);
  try { await a; assert.unreachable(); } catch (e) { assert.match((e as Error).message, 'boom'); }
  assert.is(await b, 7);
});

test('mapLimit: at most N at once, results in order, failures reported per item', async () => {
  let running = 0;
  let peak = 0;
  const gates = Array.from({ length: 6 }, gate);
  const done = mapLimit([0, 1, 2, 3, 4, 5], 2, async (i) => {
    running++;
    peak = Math.max(peak, running);
    await gates[i].p;
    running--;
    if (i === 3) throw new Error('three');
    return i * 10;
  });
  for (const g of gates) { g.open(); await Promise.resolve(); }
  const out = await done;
  assert.is(peak, 2);
  assert.equal(out.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)), [0, 10, 20, 'three', 40, 50]);
  assert.equal(await mapLimit([], 3, async () => 1), []);
});

test.run();
