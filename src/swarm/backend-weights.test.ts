import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service, UpdateStatus } from '../api/types/service.ts';
import type { Task } from '../api/types/task.ts';
import { backendWeights } from './backend-weights.ts';

const meta = { Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '' };

function service(labels: Record<string, string>, status?: UpdateStatus): Service {
  return { ID: 's', ...meta, Spec: { Name: 's', Labels: labels, TaskTemplate: { ContainerSpec: { Image: 'v2' } } }, ...(status ? { UpdateStatus: status } : {}) } as Service;
}

function task(id: string, image: string): Task {
  return { ID: id, ...meta, Labels: {}, Spec: { ContainerSpec: { Image: image } }, ServiceID: 's', Slot: 1, Status: { Timestamp: '', State: 'running', Message: '' }, DesiredState: 'running' } as Task;
}

const updating: UpdateStatus = { State: 'updating', Message: 'update in progress' };
const canary = { 'com.shoal.update.strategy': 'canary', 'com.shoal.update.canary.weight': '10' };
const tenTasks = [task('c', 'v2'), ...Array.from({ length: 9 }, (_, i) => task(`o${i}`, 'v1'))];

test('a holding canary at 10 % gets 10 % whatever the counts', () => {
  const w = backendWeights(service(canary, updating), tenTasks)!;
  const total = [...w.values()].reduce((a, b) => a + b, 0);
  assert.is(w.get('c')! / total, 0.1);
  const two = backendWeights(service(canary, updating), [task('c1', 'v2'), task('c2', 'v2'), task('o', 'v1')])!;
  assert.is((two.get('c1')! + two.get('c2')!) / [...two.values()].reduce((a, b) => a + b, 0), 0.1);
});

test('no weights: no update, promoted, no weight label, one version only, rolling', () => {
  assert.is(backendWeights(service(canary), tenTasks), undefined);
  assert.is(backendWeights(service(canary, { ...updating, ShoalCanary: 'promoted' }), tenTasks), undefined);
  assert.is(backendWeights(service({ 'com.shoal.update.strategy': 'canary' }, updating), tenTasks), undefined);
  assert.is(backendWeights(service(canary, updating), [task('o', 'v1')]), undefined);
  assert.is(backendWeights(service({}, updating), tenTasks), undefined);
  assert.is(backendWeights(service(canary, { State: 'rollback_started', Message: '' }), tenTasks), undefined);
});

test('blue-green: the new set weighs 0 while the old one is in rotation', () => {
  const w = backendWeights(service({ 'com.shoal.update.strategy': 'blue-green' }, updating), [task('g1', 'v2'), task('g2', 'v2'), task('b1', 'v1')])!;
  assert.equal([...w.entries()].sort(), [['b1', 1], ['g1', 0], ['g2', 0]]);
  assert.is(backendWeights(service({ 'com.shoal.update.strategy': 'blue-green' }, updating), [task('g1', 'v2')]), undefined, 'after the switch');
});

test.run();
