// Health gating of the updater: a replacement whose container has a health check is up
// only once its node reports it healthy, so a start-first update never stops an old task
// for a replacement that does not serve yet, or no longer does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service, ServiceSpec } from '../../api/types/service.ts';
import type { HealthStatus, Task } from '../../api/types/task.ts';
import { withServiceDefaults } from '../../api/spec/service-spec.ts';
import { ids } from '../testing/apply.ts';
import { newTask } from './new-task.ts';
import { planUpdate } from './updater.ts';
import { isHealthyRunning } from './updater-strategy.ts';

const S = 1e9;
const T0 = 1_000_000;

function spec(image: string): ServiceSpec {
  return withServiceDefaults({
    Name: 'web', Labels: {}, Mode: { Replicated: { Replicas: 1 } },
    TaskTemplate: { ContainerSpec: { Image: image, Healthcheck: { Test: ['CMD', 'true'], Interval: 1 * S } } },
    UpdateConfig: { Parallelism: 1, Delay: 0, Monitor: 1 * S, Order: 'start-first' },
  });
}

function running(t: Task, health?: HealthStatus): Task {
  return { ...t, NodeID: 'a', Status: { Timestamp: new Date(T0).toISOString(), State: 'running', Message: 'started', ...(health ? { Health: { Status: health, FailingStreak: 0 } } : {}) } };
}

/** Slot 1 mid-update: the v1 task runs, its start-first v2 replacement runs with `health`. */
function midUpdate(health: HealthStatus | undefined): { service: Service; old: Task; fresh: Task } {
  const newId = ids('t');
  const v1: Service = { ID: 'web', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Spec: spec('v1') };
  const old = running(newTask(v1, { slot: 1 }, { now: T0 - 10_000, newId }), 'healthy');
  const service: Service = { ...v1, Version: { Index: 2 }, Spec: spec('v2'), PreviousSpec: v1.Spec, UpdateStatus: { State: 'updating', StartedAt: new Date(T0 - 5_000).toISOString(), Message: 'update in progress' } };
  const fresh = running(newTask(service, { slot: 1 }, { now: T0 - 4_000, newId }), health);
  return { service, old, fresh };
}

test('a running task is up only when healthy, or when it has no health check', () => {
  const { fresh } = midUpdate(undefined);
  assert.ok(isHealthyRunning(fresh), 'no check');
  assert.ok(isHealthyRunning(running(fresh, 'healthy')));
  assert.not.ok(isHealthyRunning(running(fresh, 'starting')));
  assert.not.ok(isHealthyRunning(running(fresh, 'unhealthy')));
  assert.not.ok(isHealthyRunning({ ...fresh, Status: { ...fresh.Status, State: 'starting', Health: { Status: 'starting', FailingStreak: 0 } } }), 'Docker keeps it starting until healthy');
});

test('start-first keeps the old task until its replacement is healthy', () => {
  for (const health of ['starting', 'unhealthy'] as const) {
    const { service, old, fresh } = midUpdate(health);
    const plan = planUpdate(service, [old, fresh], { now: T0, newId: ids('n') });
    assert.equal(plan.update, [], `replacement ${health}: the old task keeps running`);
    assert.equal(plan.create, [], 'and no other replacement is made');
  }
  const { service, old, fresh } = midUpdate('healthy');
  const plan = planUpdate(service, [old, fresh], { now: T0, newId: ids('n') });
  assert.equal(plan.update.map((t) => [t.ID, t.DesiredState]), [[old.ID, 'shutdown']]);
});

test.run();
