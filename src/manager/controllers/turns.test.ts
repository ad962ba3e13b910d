import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Turns, turnsOf } from './turns.ts';

/** A defer that only runs when the test says a turn passed. */
function manualDefer() {
  const due: (() => void)[] = [];
  return { defer: (fn: () => void) => void due.push(fn), turn: () => due.splice(0).forEach((f) => f()), get pending() { return due.length; } };
}

test('queued callbacks run one per turn, in order', () => {
  const d = manualDefer();
  const turns = new Turns(d.defer);
  const ran: string[] = [];
  turns.next(() => ran.push('a'));
  turns.next(() => ran.push('b'));
  turns.next(() => ran.push('c'));
  assert.equal(ran, [], 'nothing runs in the caller\'s turn');
  d.turn();
  assert.equal(ran, ['a']);
  d.turn();
  assert.equal(ran, ['a', 'b']);
  turns.next(() => ran.push('d'));
  d.turn();
  d.turn();
  assert.equal(ran, ['a', 'b', 'c', 'd']);
  d.turn();
  assert.is(d.pending, 0, 'an empty queue schedules nothing');
  assert.is(turns.waiting, 0);
});

test('a callback that throws does not stall the ones behind it', () => {
  const d = manualDefer();
  const turns = new Turns(d.defer);
  const ran: string[] = [];
  turns.next(() => {
    throw new Error('boom');
  });
  turns.next(() => ran.push('after'));
  assert.throws(() => d.turn(), /boom/);
  d.turn();
  assert.equal(ran, ['after']);
});

test('a callback queued from inside a turn waits for a later turn', () => {
  const d = manualDefer();
  const turns = new Turns(d.defer);
  const ran: string[] = [];
  turns.next(() => {
    ran.push('a');
    turns.next(() => ran.push('b'));
  });
  d.turn();
  assert.equal(ran, ['a']);
  d.turn();
  assert.equal(ran, ['a', 'b']);
});

test('each store has its own turns', () => {
  const s1 = {};
  const s2 = {};
  assert.is(turnsOf(s1), turnsOf(s1));
  assert.is.not(turnsOf(s1), turnsOf(s2));
});

test.run();
