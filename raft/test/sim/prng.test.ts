import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Prng } from './prng.ts';

test('same seed gives the same sequence', () => {
  const a = new Prng(42);
  const b = new Prng(42);
  for (let i = 0; i < 1000; i++) assert.is(a.nextU32(), b.nextU32());
});

test('nearby seeds give different sequences', () => {
  const a = new Prng(1);
  const b = new Prng(2);
  let same = 0;
  for (let i = 0; i < 100; i++) if (a.nextU32() === b.nextU32()) same++;
  assert.ok(same < 3);
});

test('next() stays in [0, 1) and int() in its inclusive range', () => {
  const r = new Prng(7);
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    const k = r.int(3, 6);
    assert.ok(k >= 3 && k <= 6);
    seen.add(k);
  }
  assert.equal([...seen].sort(), [3, 4, 5, 6]);
});

test('int() is roughly uniform', () => {
  const r = new Prng(99);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 40_000; i++) counts[r.int(0, 3)]++;
  for (const c of counts) assert.ok(c > 9_000 && c < 11_000, `count ${c}`);
});

test('shuffle() is a permutation and pick() returns an element', () => {
  const r = new Prng(5);
  const xs = [1, 2, 3, 4, 5, 6, 7, 8];
  assert.equal(r.shuffle(xs).sort(), xs);
  for (let i = 0; i < 100; i++) assert.ok(xs.includes(r.pick(xs)));
  assert.throws(() => r.pick([]));
});

test('fork() gives a stream independent of later draws on the parent', () => {
  const a = new Prng(11);
  const fa = a.fork();
  const b = new Prng(11);
  const fb = b.fork();
  b.next(); // an extra draw on the parent must not change the child
  for (let i = 0; i < 100; i++) assert.is(fa.nextU32(), fb.nextU32());
});

test.run();
