import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { DekRing, newDek } from './dek-ring.ts';

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const bytes = (s: string) => new Uint8Array(Buffer.from(s));

test('a sealed payload holds no plaintext and opens to it', () => {
  const ring = new DekRing([newDek([])]);
  const sealed = ring.seal(bytes('{"secret":"hunter2-plaintext"}'));
  assert.is(Buffer.from(sealed).indexOf('hunter2'), -1);
  assert.is(text(ring.open(sealed)), '{"secret":"hunter2-plaintext"}');
});

test('payloads sealed before a rotation still open after it; new ones use the new key', () => {
  const ring = new DekRing([newDek([])]);
  const before = ring.seal(bytes('old'));
  const first = ring.currentId;
  ring.adopt(ring.nextKey());
  assert.is.not(ring.currentId, first);
  const after = ring.seal(bytes('new'));
  assert.is(text(ring.open(before)), 'old');
  assert.is(text(ring.open(after)), 'new');
  // A ring that only has the old key cannot open what the new one sealed.
  const oldOnly = new DekRing([ring.keys()[0]]);
  assert.throws(() => oldOnly.open(after), /unknown DEK/);
});

test('a changed byte, a relabelled key ID or a foreign key fails instead of returning garbage', () => {
  const a = newDek([]);
  const ring = new DekRing([a]);
  const sealed = Buffer.from(ring.seal(bytes('payload')));
  const flipped = Buffer.from(sealed);
  flipped[flipped.length - 1] ^= 1;
  assert.throws(() => ring.open(flipped));
  const other = { id: 'deadbeef', key: randomBytes(32) };
  const two = new DekRing([a, other]);
  const relabelled = Buffer.from(sealed);
  Buffer.from('deadbeef', 'hex').copy(relabelled, 3);
  assert.throws(() => two.open(relabelled));
  assert.throws(() => new DekRing([{ id: a.id, key: randomBytes(32) }]).open(sealed));
});

test('clear payloads open only when the ring accepts clear data (a data root from before encryption)', () => {
  const clear = bytes('{"actions":[]}');
  assert.throws(() => new DekRing([newDek([])]).open(clear), /not sealed/);
  assert.is(text(new DekRing([newDek([])], undefined, true).open(clear)), '{"actions":[]}');
});

test.run();
