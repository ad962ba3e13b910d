import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { decodeKeyFile, encodeKeyFile, isLockedKeyFile } from './key-file.ts';
import { newDek } from './dek-ring.ts';
import { InvalidUnlockKeyError, KeyFileError, SwarmLockedError } from './errors.ts';

const material = () => ({ kek: randomBytes(32), deks: [newDek([]), newDek([])] });

test('autolock off: the KEK is in the file, DEKs only wrapped by it', () => {
  const m = material();
  const text = encodeKeyFile(m, undefined);
  assert.not.ok(isLockedKeyFile(text));
  for (const d of m.deks) assert.not.ok(text.includes(d.key.toString('base64')), 'no DEK in clear');
  const back = decodeKeyFile(text);
  assert.equal(back.kek, m.kek);
  assert.equal(back.deks.map((d) => d.id), m.deks.map((d) => d.id));
  assert.equal(back.deks[1].key, m.deks[1].key);
});

test('autolock on: neither KEK nor DEK appears, the file opens with its unlock key only', () => {
  const m = material();
  const unlock = randomBytes(32);
  const text = encodeKeyFile(m, unlock);
  assert.ok(isLockedKeyFile(text));
  assert.not.ok(text.includes(m.kek.toString('base64')));
  assert.throws(() => decodeKeyFile(text), (e: unknown) => e instanceof SwarmLockedError);
  assert.throws(() => decodeKeyFile(text, randomBytes(32)), (e: unknown) => e instanceof InvalidUnlockKeyError);
  assert.equal(decodeKeyFile(text, unlock).kek, m.kek);
});

test('the previous unlock key rides sealed inside while a rotation is applied', () => {
  const prev = randomBytes(32);
  const next = randomBytes(32);
  const text = encodeKeyFile({ ...material(), previousUnlockKey: prev }, next);
  assert.not.ok(text.includes(prev.toString('base64')));
  assert.equal(decodeKeyFile(text, next).previousUnlockKey, prev);
  assert.throws(() => decodeKeyFile(text, prev), (e: unknown) => e instanceof InvalidUnlockKeyError);
});

test('a DEK wrapped by another KEK is damage, reported, not skipped', () => {
  const a = JSON.parse(encodeKeyFile(material(), undefined));
  const b = JSON.parse(encodeKeyFile(material(), undefined));
  a.deks[0] = b.deks[0];
  assert.throws(() => decodeKeyFile(JSON.stringify(a)), (e: unknown) => e instanceof KeyFileError);
  assert.throws(() => decodeKeyFile('{"format":"other"}'), (e: unknown) => e instanceof KeyFileError);
});

test.run();
