import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Changer, decodeConfChange, encodeConfChange, restoreConfig } from './changer.ts';
import type { ChangeResult } from './changer.ts';
import { ProgressTracker } from '../tracker/tracker.ts';
import { ConfChangeType } from '../types.ts';
import type { ConfChange } from '../types.ts';

const opts = { lastIndex: 10, maxInflight: 4 };
const add = (nodeId: string) => ({ type: ConfChangeType.AddNode, nodeId });
const learner = (nodeId: string) => ({ type: ConfChangeType.AddLearner, nodeId });
const remove = (nodeId: string) => ({ type: ConfChangeType.RemoveNode, nodeId });

function confState(r: ChangeResult) {
  const t = new ProgressTracker(4);
  t.config = r.config;
  t.progress = r.progress;
  return t.confState();
}

function start(voters: string[], learners: string[] = []): ChangeResult {
  return restoreConfig({ voters, learners, votersOutgoing: [], learnersNext: [], autoLeave: false }, opts);
}

function apply(r: ChangeResult, cc: ConfChange): ChangeResult {
  return new Changer(r.config, r.progress, opts).apply(cc);
}

test('simple change adds one voter and refuses two', () => {
  let r = start(['a', 'b', 'c']);
  r = apply(r, { changes: [add('d')] });
  assert.equal(confState(r).voters, ['a', 'b', 'c', 'd']);
  assert.is(r.progress.get('d')!.next, 10, 'a new member is probed from the last index');
  assert.throws(() => new Changer(r.config, r.progress, opts).simple([add('e'), add('f')]), /more than one voter/);
});

test('removing every voter is refused', () => {
  const r = start(['a']);
  assert.throws(() => apply(r, { changes: [remove('a')] }), /removed all voters/);
});

test('learner is added, promoted by AddNode, and demoted back', () => {
  let r = start(['a', 'b', 'c']);
  r = apply(r, { changes: [learner('d')] });
  assert.equal(confState(r).learners, ['d']);
  assert.ok(r.progress.get('d')!.isLearner);
  r = apply(r, { changes: [add('d')] });
  assert.equal(confState(r).learners, []);
  assert.not.ok(r.progress.get('d')!.isLearner);
  r = apply(r, { changes: [learner('d')] });
  assert.equal(confState(r).voters, ['a', 'b', 'c']);
  assert.equal(confState(r).learners, ['d']);
});

test('joint change keeps the outgoing voters until it is left', () => {
  let r = start(['a', 'b', 'c']);
  r = apply(r, { changes: [remove('a'), add('d'), learner('c')] });
  let cs = confState(r);
  assert.equal(cs.voters, ['b', 'd']);
  assert.equal(cs.votersOutgoing, ['a', 'b', 'c']);
  assert.equal(cs.learnersNext, ['c'], 'an outgoing voter is demoted only on leaving');
  assert.ok(cs.autoLeave);
  assert.ok(r.progress.has('a'));
  assert.throws(() => apply(r, { changes: [add('e')] }), /joint/);
  r = apply(r, { changes: [] });
  cs = confState(r);
  assert.equal(cs, { voters: ['b', 'd'], votersOutgoing: [], learners: ['c'], learnersNext: [], autoLeave: false });
  assert.not.ok(r.progress.has('a'));
  assert.ok(r.progress.get('c')!.isLearner);
});

test('explicit joint transition does not auto-leave; leaving a non-joint config fails', () => {
  let r = start(['a', 'b', 'c']);
  assert.throws(() => apply(r, { changes: [] }), /non-joint/);
  r = apply(r, { changes: [add('d')], transition: 'joint-explicit' });
  assert.equal(confState(r).votersOutgoing, ['a', 'b', 'c']);
  assert.not.ok(confState(r).autoLeave);
});

test('restore rebuilds a joint configuration from its ConfState', () => {
  const cs = { voters: ['b', 'd'], votersOutgoing: ['a', 'b', 'c'], learners: ['e'], learnersNext: ['c'], autoLeave: true };
  const r = restoreConfig(cs, opts);
  assert.equal(confState(r), cs);
});

test('conf change entries round-trip through their encoding', () => {
  const cc: ConfChange = { changes: [add('x'), remove('y')], context: 'addr', transition: 'joint-explicit' };
  assert.equal(decodeConfChange(encodeConfChange(cc)), cc);
  assert.throws(() => decodeConfChange(new TextEncoder().encode('{}')), /malformed/);
});

test.run();
