// normalize / normalizeOwned: the one-pass copy, freeze and mark of plain data.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeActions, encodeActions, isNormalized, normalize, normalizeOwned, toPlain } from './codec.ts';
import type { StoreAction } from './actions.ts';

test('normalize copies, sorts keys, drops undefined, freezes deeply and marks every level', () => {
  const input = { b: 1, a: { d: [1, { z: 1, y: undefined }], c: 'x' } };
  const out = normalize(input);
  assert.is.not(out, input);
  assert.equal(Object.keys(out), ['a', 'b']);
  assert.equal(Object.keys(out.a), ['c', 'd']);
  assert.equal(out.a.d[1], { z: 1 });
  for (const o of [out, out.a, out.a.d, out.a.d[1]]) {
    assert.ok(Object.isFrozen(o), 'frozen');
    assert.ok(isNormalized(o), 'marked');
  }
  assert.not.ok(Object.isFrozen(input), 'the caller\'s object is left alone');
  assert.is(JSON.stringify(out), '{"a":{"c":"x","d":[1,{"z":1}]},"b":1}', 'the mark is invisible to JSON');
});

test('a normalized value is shared, not copied, when normalized again or nested in a new object', () => {
  const inner = normalize({ k: [1, 2] });
  assert.is(normalize(inner), inner);
  const outer = normalize({ x: inner, a: 1 });
  assert.is(outer.x, inner);
});

test('a spread or clone of a normalized object carries no mark and is normalized afresh', () => {
  const n = normalize({ a: 1, b: 2 });
  const spread = { z: 0, ...n };
  assert.not.ok(isNormalized(spread));
  assert.not.ok(isNormalized(structuredClone(n)));
  assert.not.ok(isNormalized(Object.assign({}, n)));
  assert.equal(Object.keys(normalize(spread)), ['a', 'b', 'z']);
});

test('a frozen object normalize did not make is copied in order, not trusted', () => {
  const frozen = Object.freeze({ b: 1, a: 2 });
  const out = normalize(frozen);
  assert.is.not(out, frozen);
  assert.equal(Object.keys(out), ['a', 'b']);
});

test('normalizeOwned keeps parsed objects in key order in place and copies the rest', () => {
  const parsed = JSON.parse('{"a":{"x":1,"y":[{"p":1}]},"b":{"d":1,"c":2}}');
  const a = parsed.a;
  const y0 = parsed.a.y[0];
  const b = parsed.b;
  const out = normalizeOwned(parsed);
  assert.is(out, parsed, 'top level adopted');
  assert.is(out.a, a, 'in-order child adopted');
  assert.is(out.a.y[0], y0, 'array element adopted');
  assert.is.not(out.b, b, 'out-of-order child copied');
  assert.equal(Object.keys(out.b), ['c', 'd']);
  assert.ok(Object.isFrozen(out) && isNormalized(out.a.y));
});

test('toPlain and normalize still refuse what is not plain data', () => {
  assert.throws(() => normalize({ f: () => 1 } as object), /not plain data/);
  assert.throws(() => normalize({ n: Infinity }), /non-finite/);
  assert.throws(() => normalize({ d: new Date() }), /not plain data/);
  assert.throws(() => normalizeOwned(JSON.parse('{"__proto__":{"x":1}}')), /__proto__/);
  assert.throws(() => toPlain({ b: 1n } as object), /bigint/);
});

test('decoded actions come back normalized and equal to what was encoded', () => {
  const actions = [{ action: 'create', kind: 'network', object: normalize({ ID: 'n1', Spec: { Name: 'x', Labels: {} }, Version: { Index: 0 } }) }] as unknown as StoreAction[];
  const back = decodeActions(encodeActions(actions));
  assert.equal(back, actions);
  assert.ok(isNormalized(back[0].object) && Object.isFrozen(back[0].object.Spec));
});

test.run();
