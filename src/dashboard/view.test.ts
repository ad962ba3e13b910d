// The dashboard's view: which tasks the grid shows, replica counts, update progress and
// reservations per node, from store objects and a given time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Node } from '../api/types/node.ts';
import type { Service } from '../api/types/service.ts';
import type { Task, TaskState } from '../api/types/task.ts';
import { aNode, aService, aTask } from '../store/testing.ts';
import { buildView } from './view.ts';

const NOW = Date.UTC(2026, 0, 1, 0, 1);
const meta = (id: string) => ({ ID: id, Version: { Index: 1 }, CreatedAt: '2026-01-01T00:00:00Z', UpdatedAt: '2026-01-01T00:00:00Z' });
const node = (id: string, host: string): Node => ({ ...aNode(host), ...meta(id) }) as Node;
const service = (id: string, name: string, replicas: number): Service => ({ ...aService(name, replicas), ...meta(id) }) as Service;
function task(id: string, svc: Service, slot: number, nodeId: string, state: TaskState, desired: TaskState = 'running', at = '2026-01-01T00:00:50Z'): Task {
  const t = { ...aTask(svc.ID, slot, nodeId), ...meta(id), Spec: svc.Spec.TaskTemplate } as Task;
  t.Status = { ...t.Status, State: state, Timestamp: at };
  t.DesiredState = desired;
  return t;
}
const self = { nodeId: 'n1', leader: true };

test('grid shows wanted, stopping and recently failed tasks, not long-finished ones', () => {
  const web = service('s1', 'web', 2);
  const tasks = [
    task('t1', web, 1, 'n1', 'running'),
    task('t2', web, 2, 'n2', 'preparing'),
    task('t3', web, 2, 'n2', 'running', 'shutdown'), // still stopping
    task('t4', web, 1, 'n2', 'failed', 'shutdown', '2026-01-01T00:00:45Z'), // 15 s ago
    task('t5', web, 1, 'n2', 'failed', 'shutdown', '2026-01-01T00:00:10Z'), // 50 s ago
    task('t6', web, 1, 'n1', 'shutdown', 'shutdown'),
  ];
  const v = buildView({ nodes: [node('n2', 'h2'), node('n1', 'h1')], services: [web], tasks, self }, { now: NOW });
  assert.equal(v.tasks.map((t) => t.id).sort(), ['t1', 't2', 't3', 't4']);
  assert.equal(v.nodes.map((n) => n.hostname), ['h1', 'h2'], 'nodes sorted by hostname');
  assert.equal(v.tasks.find((t) => t.id === 't1')?.name, 'web.1');
  assert.is(v.services[0].running, 1);
  assert.is(v.services[0].desired, 2);
  assert.is(v.nodes.find((n) => n.id === 'n2')?.tasks, 1, 'only wanted tasks count on a node');
});

test('update progress counts running tasks whose spec matches the service', () => {
  const web = service('s1', 'web', 2);
  const old = task('t1', web, 1, 'n1', 'running');
  old.Spec = { ...old.Spec, ContainerSpec: { Image: 'busybox:old' } };
  web.UpdateStatus = { State: 'updating', Message: 'update in progress' };
  const v = buildView({ nodes: [node('n1', 'h1')], services: [web], tasks: [old, task('t2', web, 2, 'n1', 'running')], self }, { now: NOW });
  assert.equal(v.services[0].update, { state: 'updating', message: 'update in progress', updated: 1, total: 2 });
});

test('tasks of unknown services or without a node stay out of the grid', () => {
  const web = service('s1', 'web', 1);
  const orphan = task('t1', service('s9', 'gone', 1), 1, 'n1', 'running');
  const unplaced = { ...task('t2', web, 1, 'n1', 'pending'), NodeID: undefined };
  const v = buildView({ nodes: [node('n1', 'h1')], services: [web], tasks: [orphan, unplaced], self }, { now: NOW });
  assert.equal(v.tasks, []);
});

test('reservations add up per node', () => {
  const web = service('s1', 'web', 2);
  web.Spec.TaskTemplate.Resources = { Reservations: { NanoCPUs: 5e8, MemoryBytes: 2 ** 20 } };
  const v = buildView({ nodes: [node('n1', 'h1')], services: [web], tasks: [task('t1', web, 1, 'n1', 'running'), task('t2', web, 2, 'n1', 'running')], self }, { now: NOW });
  assert.is(v.nodes[0].reservedCpus, 1);
  assert.is(v.nodes[0].reservedMemoryBytes, 2 ** 21);
  assert.is(v.nodes[0].cpus, 2);
});

test.run();
