import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task, TaskState } from '../api/types/task.ts';
import { AssignmentSet, isAssignedTo, reportedTask, type PayloadLookup } from './assignments.ts';
import type { Config, Secret } from '../api/types/secret-config.ts';

function task(id: string, over: { node?: string; state?: TaskState; desired?: TaskState } = {}): Task {
  return {
    ID: id, Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {},
    Spec: { ContainerSpec: { Image: 'bb' } }, ServiceID: 's1', Slot: 1,
    ...(over.node === undefined ? { NodeID: 'n1' } : over.node ? { NodeID: over.node } : {}),
    Status: { Timestamp: '', State: over.state ?? 'assigned', Message: '' },
    DesiredState: over.desired ?? 'running',
  };
}

test('a node is assigned its tasks once scheduled, not before', () => {
  assert.ok(isAssignedTo(task('a'), 'n1'));
  assert.not.ok(isAssignedTo(task('a', { state: 'pending' }), 'n1'));
  assert.not.ok(isAssignedTo(task('a'), 'n2'));
});

test('the full set holds only the node\'s scheduled tasks', () => {
  const set = new AssignmentSet('n1');
  const f = set.full([task('a'), task('b', { node: 'n2' }), task('c', { state: 'new', node: '' }), task('d', { state: 'running' })]);
  assert.equal(f.full, true);
  assert.equal(f.tasks.map((t) => t.ID), ['a', 'd']);
  assert.equal(set.size, 2);
});

test('a status change the node reported is not echoed back', () => {
  const set = new AssignmentSet('n1');
  set.full([task('a')]);
  assert.is(set.diff([{ id: 'a', current: task('a', { state: 'running' }) }]), undefined);
});

test('new tasks and desired state changes are sent; deletions are sent as removed', () => {
  const set = new AssignmentSet('n1');
  set.full([task('a'), task('b')]);
  const f = set.diff([
    { id: 'a', current: task('a', { state: 'running', desired: 'shutdown' }) },
    { id: 'b', current: undefined },
    { id: 'c', current: task('c') },
    { id: 'x', current: undefined },
  ]);
  assert.equal(f && { tasks: f.tasks.map((t) => [t.ID, t.DesiredState]), removed: f.removed, full: f.full }, {
    tasks: [['a', 'shutdown'], ['c', 'running']], removed: ['b'], full: false,
  });
  assert.is(set.diff([{ id: 'a', current: task('a', { state: 'shutdown', desired: 'shutdown' }) }]), undefined);
});

test('a task moved to another node leaves the first node\'s set', () => {
  const set = new AssignmentSet('n1');
  set.full([task('a')]);
  assert.equal(set.diff([{ id: 'a', current: task('a', { node: 'n2' }) }])?.removed, ['a']);
});

test('reports move state forward only, and only for the reporting node\'s tasks', () => {
  const st = (State: TaskState, Message = '') => ({ Timestamp: 't', State, Message });
  const t = task('a', { state: 'starting' });
  assert.is(reportedTask(t, 'n1', st('running'))?.Status.State, 'running');
  assert.is(reportedTask(t, 'n2', st('running')), undefined, 'another node');
  assert.is(reportedTask(t, 'n1', st('preparing')), undefined, 'backward');
  assert.is(reportedTask(task('a', { state: 'failed' }), 'n1', st('shutdown')), undefined, 'final');
  assert.is(reportedTask(t, 'n1', { ...t.Status }), undefined, 'repeat');
  assert.is(reportedTask(undefined, 'n1', st('running')), undefined, 'gone');
  assert.is(reportedTask(t, 'n1', st('bogus' as TaskState)), undefined, 'unknown state');
});

function withRefs(t: Task, secrets: string[], configs: string[] = []): Task {
  return {
    ...t, Spec: { ContainerSpec: {
      Image: 'bb',
      Secrets: secrets.map((id) => ({ SecretID: id, SecretName: `n-${id}` })),
      Configs: configs.map((id) => ({ ConfigID: id, ConfigName: `n-${id}` })),
    } },
  };
}
const meta = { Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '' };
const lookup: PayloadLookup = {
  secret: (id) => (id === 'gone' ? undefined : ({ ID: id, ...meta, Spec: { Name: `n-${id}`, Labels: {}, Data: 'eA==' } } as Secret)),
  config: (id) => ({ ID: id, ...meta, Spec: { Name: `n-${id}`, Labels: {}, Data: 'eA==' } } as Config),
};

test('a node gets only the secrets and configs its tasks reference, with the tasks', () => {
  const set = new AssignmentSet('n1');
  const f = set.full([withRefs(task('a'), ['s1'], ['c1']), withRefs(task('b', { node: 'n2' }), ['s2'])], lookup);
  assert.equal(f.secrets?.map((s) => s.ID), ['s1']);
  assert.equal(f.configs?.map((c) => c.ID), ['c1']);
  const g = set.diff([{ id: 'c', current: withRefs(task('c'), ['s1', 's3']) }], lookup);
  assert.equal(g?.secrets?.map((s) => s.ID), ['s3'], 'only what the node does not hold yet');
  assert.equal(set.held(), { secrets: ['s1', 's3'], configs: ['c1'] });
});

test('withdrawn once the last task using them ended or left the set', () => {
  const set = new AssignmentSet('n1');
  set.full([withRefs(task('a', { state: 'running' }), ['s1']), withRefs(task('b', { state: 'running' }), ['s1', 's2'])], lookup);
  const f = set.diff([{ id: 'b', current: withRefs(task('b', { state: 'complete' }), ['s1', 's2']) }], lookup);
  assert.equal(f && { tasks: f.tasks, removedSecrets: f.removedSecrets }, { tasks: [], removedSecrets: ['s2'] }, 'a status change alone can withdraw');
  const g = set.diff([{ id: 'a', current: undefined }], lookup);
  assert.equal(g?.removedSecrets, ['s1']);
  assert.equal(set.held(), { secrets: [], configs: [] });
});

test('a secret gone from the store is not sent; frames without a lookup carry none', () => {
  const set = new AssignmentSet('n1');
  assert.equal(set.full([withRefs(task('a'), ['gone', 's1'])], lookup).secrets?.map((s) => s.ID), ['s1']);
  const bare = new AssignmentSet('n1');
  assert.equal(bare.full([withRefs(task('a'), ['s1'])]).secrets, []);
});

test.run();
