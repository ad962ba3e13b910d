import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { message, MessageType, NONE, emptyConfState } from './types.ts';

test('message() fills every field with its zero value', () => {
  const m = message({ type: MessageType.App, to: 'b' });
  assert.equal(m, { type: MessageType.App, from: NONE, to: 'b', term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 });
});

test('emptyConfState() has no members and is not joint', () => {
  const cs = emptyConfState();
  assert.equal(cs.voters.length + cs.learners.length + cs.votersOutgoing.length, 0);
  assert.is(cs.autoLeave, false);
});

test.run();
