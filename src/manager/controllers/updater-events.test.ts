// Which task changes wake the updater (pure): the steps of up-to-date tasks of a
// service that runs no update do not; anything an update could act on does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service } from '../../api/types/service.ts';
import type { Task, TaskState } from '../../api/types/task.ts';
import { withServiceDefaults } from '../../api/spec/service-spec.ts';
import { aService } from '../../store/testing.ts';
import { taskEventMatters } from './updater.ts';

function service(status?: NonNullable<Service['UpdateStatus']>['State']): Service {
  const spec = withServiceDefaults(aService('web', 3).Spec);
  return {
    ID: 's1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Spec: spec,
    ...(status ? { UpdateStatus: { State: status, StartedAt: '', Message: '' } } : {}),
  } as Service;
}

function task(s: Service, state: TaskState, desired: TaskState = 'running', image?: string): Task {
  const spec = structuredClone(s.Spec.TaskTemplate);
  if (image) spec.ContainerSpec.Image = image;
  return {
    ID: 't1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: spec, ServiceID: s.ID, Slot: 1, NodeID: 'n1',
    Status: { Timestamp: '', State: state, Message: '' }, DesiredState: desired,
  } as Task;
}

test('steps and arrival of an up-to-date task of a service running no update do not matter', () => {
  for (const s of [service(), service('completed'), service('rollback_completed')]) {
    assert.not.ok(taskEventMatters(s, undefined, task(s, 'new')), 'created');
    assert.not.ok(taskEventMatters(s, task(s, 'assigned'), task(s, 'preparing')));
    assert.not.ok(taskEventMatters(s, task(s, 'starting'), task(s, 'running')), 'reaching running');
  }
});

test('an update in progress or paused, an out-of-date task, an end, a desired-state change or an unknown service matter', () => {
  for (const st of ['updating', 'rollback_started', 'paused', 'rollback_paused'] as const) {
    const s = service(st);
    assert.ok(taskEventMatters(s, task(s, 'starting'), task(s, 'running')), st);
  }
  const s = service();
  assert.ok(taskEventMatters(s, task(s, 'starting', 'running', 'old:1'), task(s, 'running', 'running', 'old:1')), 'out of date');
  assert.ok(taskEventMatters(s, task(s, 'running'), task(s, 'failed')), 'ended');
  assert.ok(taskEventMatters(s, task(s, 'running'), task(s, 'running', 'shutdown')), 'desired state');
  assert.ok(taskEventMatters(undefined, task(s, 'starting'), task(s, 'running')), 'service not known');
});

test.run();
