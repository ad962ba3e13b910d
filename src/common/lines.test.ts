import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lineSplitter } from './lines.ts';

test('lines come whole and in order, however the chunks split them', () => {
  const got: string[] = [];
  const feed = lineSplitter((l) => { got.push(l); });
  for (const c of ['ok 1', '\nok 2\nerr', ' 3 EEXIST\n', '', '\n', 'partial']) feed(c);
  assert.equal(got, ['ok 1', 'ok 2', 'err 3 EEXIST', '']);
  feed(' end\n');
  assert.equal(got.at(-1), 'partial end');
});

test('false stops it: the rest of that chunk and every later one is dropped', () => {
  const got: string[] = [];
  const feed = lineSplitter((l) => { got.push(l); return l !== 'bad'; });
  feed('a\nbad\nc\n');
  feed('d\n');
  assert.equal(got, ['a', 'bad']);
});

test.run();
