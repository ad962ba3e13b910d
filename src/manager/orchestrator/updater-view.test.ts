import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { sameAsJson, stableJson } from './updater-view.ts';

const deepFreeze = <T>(v: T): T => {
  if (v && typeof v === 'object') {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
};

test('stableJson sorts keys at every level and drops undefined fields', () => {
  assert.is(stableJson({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: 'x' } }), '{"a":{"c":"x","d":[2,{"z":1}]},"b":1}');
  assert.is(stableJson(null), 'null');
  assert.is(stableJson('s'), '"s"');
});

test('a deep-frozen value gives the same JSON again (it is remembered)', () => {
  const spec = deepFreeze({ ContainerSpec: { Image: 'a', Env: ['X=1'] } });
  assert.is(stableJson(spec), stableJson(spec));
  assert.is(stableJson(spec), '{"ContainerSpec":{"Env":["X=1"],"Image":"a"}}');
});

test('a value that is not frozen all through is serialised afresh after a change', () => {
  const inner = { Image: 'a' };
  const shell = Object.freeze({ ContainerSpec: inner });
  assert.is(stableJson(shell), '{"ContainerSpec":{"Image":"a"}}');
  inner.Image = 'b';
  assert.is(stableJson(shell), '{"ContainerSpec":{"Image":"b"}}');
  const open = { Image: 'a' };
  assert.is(stableJson(open), '{"Image":"a"}');
  open.Image = 'c';
  assert.is(stableJson(open), '{"Image":"c"}');
});

/** A copy of `v` with every object's keys in reverse order and an undefined field added. */
const reordered = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(reordered);
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, unknown> = { zzUnset: undefined };
  for (const k of Object.keys(v).reverse()) out[k] = reordered((v as Record<string, unknown>)[k]);
  return out;
};

test('property: sameAsJson says what comparing stableJson says, frozen or not, asked once or twice', () => {
  const json = fc.jsonValue({ maxDepth: 4 });
  const pair = fc.oneof(
    fc.tuple(json, json),
    json.map((a) => [a, reordered(a)] as [unknown, unknown]),
    fc.tuple(json, json).map(([a, b]) => [{ Spec: a, Keep: 1 }, { Spec: b, Keep: 1 }] as [unknown, unknown]),
  );
  fc.assert(fc.property(pair, fc.boolean(), ([a, b], frozen) => {
    const x = frozen ? deepFreeze(structuredClone(a)) : a;
    const y = frozen ? deepFreeze(reordered(b)) : b;
    const want = stableJson(x) === stableJson(y);
    return sameAsJson(x, y) === want && sameAsJson(x, y) === want && sameAsJson(y, x) === want;
  }), { numRuns: 2000 });
});

test('a remembered answer is for that pair only', () => {
  const spec = deepFreeze({ ContainerSpec: { Image: 'a' } });
  const same = deepFreeze({ ContainerSpec: { Image: 'a' } });
  const other = deepFreeze({ ContainerSpec: { Image: 'b' } });
  assert.ok(sameAsJson(spec, same));
  assert.not.ok(sameAsJson(spec, other));
  assert.ok(sameAsJson(spec, same));
  // Not frozen all through: compared afresh after a change.
  const inner = { Image: 'a' };
  const shell = Object.freeze({ ContainerSpec: inner });
  assert.ok(sameAsJson(shell, same));
  inner.Image = 'b';
  assert.not.ok(sameAsJson(shell, same));
});

test.run();
