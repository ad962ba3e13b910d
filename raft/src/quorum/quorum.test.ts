import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JointConfig, MajorityConfig, VoteResult } from './quorum.ts';

const acked = (m: Record<string, number>) => (id: string) => m[id];
const votes = (m: Record<string, boolean>) => new Map(Object.entries(m));

test('majority committed index is the median acknowledged index', () => {
  const c = new MajorityConfig(['a', 'b', 'c']);
  assert.is(c.committedIndex(acked({ a: 5, b: 4, c: 1 })), 4);
  assert.is(c.committedIndex(acked({ a: 5 })), 0);
  assert.is(c.committedIndex(acked({ a: 5, b: 5 })), 5);
  const five = new MajorityConfig(['a', 'b', 'c', 'd', 'e']);
  assert.is(five.committedIndex(acked({ a: 9, b: 8, c: 7, d: 2, e: 1 })), 7);
  const four = new MajorityConfig(['a', 'b', 'c', 'd']);
  assert.is(four.committedIndex(acked({ a: 9, b: 8, c: 7, d: 2 })), 7, 'four voters need three');
});

test('empty majority config commits everything and wins every vote', () => {
  const c = new MajorityConfig();
  assert.is(c.committedIndex(acked({})), Infinity);
  assert.is(c.voteResult(votes({})), VoteResult.Won);
});

test('majority vote result is pending until decided', () => {
  const c = new MajorityConfig(['a', 'b', 'c']);
  assert.is(c.voteResult(votes({ a: true })), VoteResult.Pending);
  assert.is(c.voteResult(votes({ a: true, b: true })), VoteResult.Won);
  assert.is(c.voteResult(votes({ a: true, b: false })), VoteResult.Pending);
  assert.is(c.voteResult(votes({ a: false, b: false })), VoteResult.Lost);
  assert.is(c.voteResult(votes({ x: true, y: true })), VoteResult.Pending, 'votes of non-members do not count');
});

test('joint committed index is the minimum of both majorities', () => {
  const j = new JointConfig(new MajorityConfig(['a', 'b', 'c']), new MajorityConfig(['c', 'd', 'e']));
  assert.is(j.committedIndex(acked({ a: 10, b: 10, c: 3, d: 5, e: 1 })), 3);
  assert.is(j.committedIndex(acked({ a: 10, b: 10, c: 3, d: 5, e: 6 })), 5);
  const simple = new JointConfig(new MajorityConfig(['a', 'b', 'c']));
  assert.is(simple.committedIndex(acked({ a: 10, b: 10, c: 3 })), 10);
});

test('joint vote needs both majorities; either losing loses', () => {
  const j = new JointConfig(new MajorityConfig(['a', 'b', 'c']), new MajorityConfig(['c', 'd', 'e']));
  assert.is(j.voteResult(votes({ a: true, b: true })), VoteResult.Pending);
  assert.is(j.voteResult(votes({ a: true, b: true, d: true, e: true })), VoteResult.Won);
  assert.is(j.voteResult(votes({ a: true, b: true, d: false, e: false })), VoteResult.Lost);
  assert.is(j.voteResult(votes({ a: true, c: true })), VoteResult.Pending);
  assert.is(j.voteResult(votes({ a: true, b: true, c: true, d: true })), VoteResult.Won);
});

test('majority and joint configs describe themselves', () => {
  const j = new JointConfig(new MajorityConfig(['b', 'a']), new MajorityConfig(['c']));
  assert.is(j.toString(), '(a b)&&(c)');
  assert.ok(j.isJoint());
  assert.equal([...j.ids()].sort(), ['a', 'b', 'c']);
});

test.run();
