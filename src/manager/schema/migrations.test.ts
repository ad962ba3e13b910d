import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { aNode } from '../../store/testing.ts';
import type { Node } from '../../api/types/node.ts';
import type { Cluster } from '../../store/objects.ts';
import { migrationsToRun, type Migration } from './migrations.ts';

function manager(host: string, schema?: number): Node {
  const n = aNode(host) as unknown as Node;
  return { ...n, Spec: { ...n.Spec, Role: 'manager' }, Description: { ...n.Description, ...(schema ? { ShoalStoreSchema: schema } : {}) } } as Node;
}
const cluster = (schema?: number) => ({ ...(schema ? { ShoalStoreSchema: schema } : {}) }) as Cluster;
const steps: Migration[] = [2, 3].map((to) => ({ to, what: `to ${to}`, apply: () => {} }));

test('no migration while any manager still runs the older schema', () => {
  assert.equal(migrationsToRun([manager('a', 2), manager('b', 2), manager('c')], cluster(), 2, steps), []);
  assert.equal(migrationsToRun([manager('a', 2), manager('b', 2), manager('c', 1)], cluster(), 2, steps), []);
});

test('once every manager runs the newer schema, the leader migrates, once', () => {
  const ms = migrationsToRun([manager('a', 2), manager('b', 2), manager('c', 2)], cluster(), 2, steps);
  assert.equal(ms.map((m) => m.to), [2]);
  assert.equal(migrationsToRun([manager('a', 2), manager('b', 2), manager('c', 2)], cluster(2), 2, steps), [], 'already at 2');
});

test('the leader never migrates past what its own release runs, nor past a missing step', () => {
  assert.equal(migrationsToRun([manager('a', 3), manager('b', 3)], cluster(), 2, steps).map((m) => m.to), [2]);
  assert.equal(migrationsToRun([manager('a', 3), manager('b', 3)], cluster(), 3, steps).map((m) => m.to), [2, 3]);
  assert.equal(migrationsToRun([manager('a', 3)], cluster(), 3, [steps[1]]), [], 'no step to 2');
  assert.equal(migrationsToRun([], cluster(), 3, steps), [], 'no managers known');
});

test('a store at a newer schema than a downgraded leader runs is left alone', () => {
  assert.equal(migrationsToRun([manager('a', 1)], cluster(2), 1, steps), []);
});

test.run();
