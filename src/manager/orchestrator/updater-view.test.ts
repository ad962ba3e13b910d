import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stableJson } from './updater-view.ts';

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

test.run();
