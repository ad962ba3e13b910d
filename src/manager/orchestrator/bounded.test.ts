import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task } from '../../api/types/task.ts';
import { boundReconciliation } from './bounded.ts';

const task = (id: string, slot: number, desired = 'running'): Task => ({ ID: id, Slot: slot, DesiredState: desired } as unknown as Task);
const slotOf = (t: Task) => (t.Slot ? String(t.Slot) : undefined);

test('a reconciliation within the budget is left as it is', () => {
  const r = { create: [task('n1', 1)], update: [task('o1', 1, 'shutdown')], delete: ['x'] };
  assert.equal(boundReconciliation(r, 5, slotOf), { r, more: false });
});

test('replacements past the budget are cut with the shutdowns of the tasks they replace', () => {
  const r = {
    create: [task('n1', 1), task('n2', 2), task('n3', 3)],
    update: [task('o1', 1, 'shutdown'), task('o2', 2, 'shutdown'), task('o3', 3, 'shutdown'), task('o9', 9, 'remove')],
    delete: ['old'],
    wakeAt: 5,
  };
  const { r: out, more } = boundReconciliation(r, 2, slotOf);
  assert.ok(more);
  assert.equal(out.create.map((t) => t.ID), ['n1', 'n2']);
  assert.equal(out.update.map((t) => t.ID), ['o1', 'o2', 'o9'], 'slot 3 is untouched; changes of slots without new tasks stay');
  assert.equal(out.delete, ['old']);
  assert.is(out.wakeAt, 5);
});

test('a zero budget writes no new task and no change of the slots that wanted one', () => {
  const r = { create: [task('n1', 1)], update: [task('o1', 1, 'shutdown'), task('o2', 2, 'remove')], delete: [] };
  const { r: out } = boundReconciliation(r, 0, slotOf);
  assert.equal(out.create, []);
  assert.equal(out.update.map((t) => t.ID), ['o2']);
});

test.run();
