import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bytesToBase36, isId, newId, seededRandom } from './ids.ts';

test('IDs are 25 lowercase base-36 characters, zero-padded', () => {
  const id = newId(seededRandom(1));
  assert.ok(isId(id), id);
  assert.is(newId(() => new Uint8Array(16)), '0'.repeat(25));
  assert.is(newId(() => new Uint8Array(16).fill(255)), (2n ** 128n - 1n).toString(36));
  assert.is((2n ** 128n - 1n).toString(36).length, 25);
});

test('a seeded source replays the same IDs; another seed gives others', () => {
  const a = seededRandom(9);
  const b = seededRandom(9);
  const c = seededRandom(10);
  const ids = [newId(a), newId(a)];
  assert.equal([newId(b), newId(b)], ids);
  assert.is.not(ids[0], ids[1]);
  assert.is.not(newId(c), ids[0]);
});

test('bytesToBase36 reads bytes big-endian', () => {
  assert.is(bytesToBase36(Uint8Array.of(1, 0), 3), '074');
});

test('a random source returning the wrong length is refused', () => {
  assert.throws(() => newId(() => new Uint8Array(8)), /wrong number of bytes/);
});

test.run();
