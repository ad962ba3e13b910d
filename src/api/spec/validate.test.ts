// Upper bounds of counts and durations: one request cannot ask for more tasks than a
// manager can hold, nor a delay that overflows Node's timers into a 1 ms loop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServiceSpec } from '../types/service.ts';
import { MAX_DURATION_NS, MAX_REPLICAS, validateServiceSpecFields } from './validate.ts';
import { checkSwarmBody } from './swarm-spec.ts';
import { ApiError } from '../errors.ts';

const base = (): ServiceSpec => ({ Name: 'web', Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox' } } });

test('durations are capped below 2^31-1 ms, the largest timer Node keeps', () => {
  assert.ok(MAX_DURATION_NS / 1e6 < 2 ** 31 - 1);
});

test('counts and durations above their bound are refused naming the field; the bound itself passes', () => {
  const cases: [string, (s: ServiceSpec, v: number) => void, number][] = [
    ['Mode.Replicated.Replicas', (s, v) => (s.Mode = { Replicated: { Replicas: v } }), MAX_REPLICAS],
    ['Mode.ReplicatedJob.MaxConcurrent', (s, v) => (s.Mode = { ReplicatedJob: { MaxConcurrent: v } }), MAX_REPLICAS],
    ['TaskTemplate.Placement.MaxReplicas', (s, v) => (s.TaskTemplate.Placement = { MaxReplicas: v }), MAX_REPLICAS],
    ['UpdateConfig.Parallelism', (s, v) => (s.UpdateConfig = { Parallelism: v }), MAX_REPLICAS],
    ['UpdateConfig.Delay', (s, v) => (s.UpdateConfig = { Delay: v }), MAX_DURATION_NS],
    ['UpdateConfig.Monitor', (s, v) => (s.UpdateConfig = { Monitor: v }), MAX_DURATION_NS],
    ['RollbackConfig.Delay', (s, v) => (s.RollbackConfig = { Delay: v }), MAX_DURATION_NS],
    ['TaskTemplate.RestartPolicy.Delay', (s, v) => (s.TaskTemplate.RestartPolicy = { Delay: v }), MAX_DURATION_NS],
    ['TaskTemplate.RestartPolicy.Window', (s, v) => (s.TaskTemplate.RestartPolicy = { Window: v }), MAX_DURATION_NS],
    ['TaskTemplate.ContainerSpec.StopGracePeriod', (s, v) => (s.TaskTemplate.ContainerSpec.StopGracePeriod = v), MAX_DURATION_NS],
    ['TaskTemplate.ContainerSpec.Healthcheck.Interval', (s, v) => (s.TaskTemplate.ContainerSpec.Healthcheck = { Test: ['CMD', 'true'], Interval: v }), MAX_DURATION_NS],
  ];
  for (const [field, set, max] of cases) {
    const ok = base();
    set(ok, max);
    assert.is(validateServiceSpecFields(ok), undefined, `${field} = ${max} passes`);
    const over = base();
    set(over, max + 1);
    assert.is(validateServiceSpecFields(over)?.field, field, `${field} = ${max + 1} is refused`);
  }
});

test('swarm spec: heartbeat, certificate expiry and task history are bounded; bad types are 400', () => {
  const refused = (body: unknown, re: RegExp) => {
    try {
      checkSwarmBody('SwarmSpec', body);
    } catch (err) {
      assert.instance(err, ApiError);
      assert.is((err as ApiError).status, 400);
      assert.match((err as ApiError).message, re);
      return;
    }
    assert.unreachable(`${JSON.stringify(body)} should be refused`);
  };
  refused({ Dispatcher: { HeartbeatPeriod: MAX_DURATION_NS + 1 } }, /Dispatcher.HeartbeatPeriod/);
  refused({ Dispatcher: { HeartbeatPeriod: -1 } }, /Dispatcher.HeartbeatPeriod/);
  refused({ CAConfig: { NodeCertExpiry: 60e9 } }, /minimum certificate expiry/);
  refused({ CAConfig: { NodeCertExpiry: 11 * 365 * 24 * 3600e9 } }, /at most 87600h/);
  refused({ Orchestration: { TaskHistoryRetentionLimit: 1e9 } }, /TaskHistoryRetentionLimit/);
  refused({ Orchestration: { TaskHistoryRetentionLimit: 'five' } }, /TaskHistoryRetentionLimit: must be an integer/);
  assert.equal(checkSwarmBody('SwarmSpec', { Name: 'default', Labels: null, Dispatcher: { HeartbeatPeriod: 5e9 } }), { Name: 'default', Dispatcher: { HeartbeatPeriod: 5e9 } });
});

test.run();
