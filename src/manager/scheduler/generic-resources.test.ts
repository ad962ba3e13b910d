import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Node } from '../../api/types/node.ts';
import type { GenericResource, TaskSpec } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { byNode, node, task } from '../testing/fixtures.ts';
import { schedule } from './scheduler.ts';

const withGeneric = (n: Node, list: GenericResource[]): Node => ({ ...n, Description: { ...n.Description!, Resources: { ...n.Description!.Resources, GenericResources: list } } });
const gpuSpec = (n: number): TaskSpec => ({ ContainerSpec: { Image: 'x' }, Resources: { Reservations: { GenericResources: [{ DiscreteResourceSpec: { Kind: 'gpu', Value: n } }] } } });
const pending = (n: number, svc: string, spec: TaskSpec): Task[] =>
  Array.from({ length: n }, (_, i) => task(`${svc}-t${i + 1}`, svc, { slot: i + 1, state: 'pending', spec }));

test('tasks reserving a generic resource land only on the node that advertises it', () => {
  const nodes = [node('a'), withGeneric(node('b'), [{ DiscreteResourceSpec: { Kind: 'gpu', Value: 2 } }]), node('c')];
  const r = schedule(pending(2, 's', gpuSpec(1)), nodes, new Map());
  assert.equal([...r.assignments.values()], ['b', 'b']);
});

test('a task that does not fit the amount left stays pending as insufficient resources', () => {
  const nodes = [node('a'), withGeneric(node('b'), [{ DiscreteResourceSpec: { Kind: 'gpu', Value: 2 } }])];
  const running = [task('o1', 'other', { node: 'b', spec: gpuSpec(1) })];
  const r = schedule(pending(2, 's', gpuSpec(1)), nodes, byNode(running));
  assert.is(r.assignments.size, 1);
  assert.is(r.unplaced.get('s-t2'), 'no suitable node (insufficient resources on 2 nodes)');
});

test('named units count one each, and finished tasks give theirs back', () => {
  const named = withGeneric(node('b'), [{ NamedResourceSpec: { Kind: 'gpu', Value: 'GPU-1' } }, { NamedResourceSpec: { Kind: 'gpu', Value: 'GPU-2' } }]);
  const done = [task('o1', 'other', { node: 'b', spec: gpuSpec(2), state: 'failed', desired: 'shutdown' })];
  const r = schedule(pending(1, 's', gpuSpec(2)), [node('a'), named], byNode(done));
  assert.equal([...r.assignments.values()], ['b']);
});

test.run();
