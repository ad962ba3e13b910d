import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { emptyConfState } from 'raft-ts';
import { canRemoveVoter, nextMembershipAction } from './membership.ts';

const conf = (voters: string[], learners: string[] = []) => ({ ...emptyConfState(), voters, learners });
const base = { selfId: 'a', lastIndex: 100, active: new Set(['a', 'b', 'c']) };

test('a new manager is added as a learner first', () => {
  const a = nextMembershipAction({ ...base, managers: [{ nodeId: 'a', addr: 'A' }, { nodeId: 'b', addr: 'B' }], conf: conf(['a']), match: new Map() });
  assert.equal(a, { kind: 'add-learner', nodeId: 'b', addr: 'B' });
});

test('a caught-up, active learner is promoted', () => {
  const a = nextMembershipAction({ ...base, managers: [{ nodeId: 'a', addr: 'A' }, { nodeId: 'b', addr: 'B' }], conf: conf(['a'], ['b']), match: new Map([['b', 95]]) });
  assert.equal(a, { kind: 'promote', nodeId: 'b' });
});

test('a learner that is behind, silent or has nothing yet is not promoted', () => {
  const managers = [{ nodeId: 'a', addr: 'A' }, { nodeId: 'b', addr: 'B' }];
  assert.is(nextMembershipAction({ ...base, managers, conf: conf(['a'], ['b']), match: new Map([['b', 50]]) }), undefined);
  assert.is(nextMembershipAction({ ...base, active: new Set(['a']), managers, conf: conf(['a'], ['b']), match: new Map([['b', 100]]) }), undefined);
  assert.is(nextMembershipAction({ ...base, lastIndex: 5, managers, conf: conf(['a'], ['b']), match: new Map([['b', 0]]) }), undefined);
});

test('a demoted manager is removed before anything is added', () => {
  const a = nextMembershipAction({ ...base, managers: [{ nodeId: 'a', addr: 'A' }, { nodeId: 'd', addr: 'D' }], conf: conf(['a', 'b']), match: new Map() });
  assert.equal(a, { kind: 'remove', nodeId: 'b' });
});

test('a demoted leader hands leadership to the most caught-up voter instead of removing itself', () => {
  const a = nextMembershipAction({ ...base, managers: [{ nodeId: 'b', addr: 'B' }, { nodeId: 'c', addr: 'C' }], conf: conf(['a', 'b', 'c']), match: new Map([['b', 90], ['c', 99]]) });
  assert.equal(a, { kind: 'transfer-leadership', to: 'c' });
});

test('nothing to do when roles and configuration agree', () => {
  const a = nextMembershipAction({ ...base, managers: [{ nodeId: 'a', addr: 'A' }, { nodeId: 'b', addr: 'B' }], conf: conf(['a', 'b']), match: new Map([['b', 100]]) });
  assert.is(a, undefined);
});

test('a removal that would leave no reachable quorum waits (swarmkit CanRemoveMember)', () => {
  // Demoting b while c is unreachable would leave {a, c} with only a answering.
  const a = nextMembershipAction({ ...base, active: new Set(['a']), managers: [{ nodeId: 'a', addr: 'A' }, { nodeId: 'c', addr: 'C' }], conf: conf(['a', 'b', 'c']), match: new Map() });
  assert.is(a, undefined);
  assert.is(canRemoveVoter({ conf: conf(['a', 'b', 'c']), nodeId: 'b', selfId: 'a', active: new Set(['a']) }), false);
  assert.is(canRemoveVoter({ conf: conf(['a', 'b', 'c']), nodeId: 'b', selfId: 'a', active: new Set(['c']) }), true);
  // A dead second voter can always be removed: one voter is its own quorum.
  assert.is(canRemoveVoter({ conf: conf(['a', 'b']), nodeId: 'b', selfId: 'a', active: new Set() }), true);
  // The last voter never; a learner always.
  assert.is(canRemoveVoter({ conf: conf(['a']), nodeId: 'a', selfId: 'a', active: new Set(['a']) }), false);
  assert.is(canRemoveVoter({ conf: conf(['a'], ['l']), nodeId: 'l', selfId: 'a', active: new Set() }), true);
});

test.run();
