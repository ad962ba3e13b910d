// Outcomes of API calls: 2xx acknowledged (not classified here), a 4xx or a daemon not
// listening is a refusal, anything else (5xx, timeout, reset) unknown; the history file
// is JSONL with the seed first and reads back as written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '../../src/api/errors.ts';
import { classify, History, readHistory } from './history.ts';

test('classify: 4xx and ECONNREFUSED refused; 5xx, 408, timeouts and resets unknown', () => {
  assert.is(classify(new ApiError('not found', 404)).outcome, 'refused');
  assert.is(classify(new ApiError('conflict', 409)).outcome, 'refused');
  assert.is(classify(new ApiError('no quorum', 503)).outcome, 'unknown');
  assert.is(classify(new ApiError('timeout', 408)).outcome, 'unknown');
  assert.is(classify(new Error('cannot connect', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) })).outcome, 'refused');
  assert.is(classify(Object.assign(new Error('reset'), { code: 'ECONNRESET' })).outcome, 'unknown');
  assert.is(classify(new Error('request timed out')).outcome, 'unknown');
});

test('History: seed first, entries appended, read back the same', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-hist-'));
  try {
    const h = new History(join(dir, 'sub', 'h.jsonl'), 7, { hosts: 5 });
    h.add({ type: 'op', client: 0, op: 'create', kind: 'secret', name: 'c0-sec0', via: 'h1', start: 1, end: 2, outcome: 'acknowledged' });
    h.note('healed');
    const back = readHistory(h.file);
    assert.is(back.length, 3);
    assert.equal(back[0], { type: 'header', seed: 7, options: { hosts: 5 }, startedAt: (back[0] as { startedAt: string }).startedAt });
    assert.equal(back, h.entries);
    assert.is(h.ops().length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
