import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgumentError } from '../errors.ts';
import type { ServiceSpec } from '../types/service.ts';
import { DEFAULTS, validateServiceSpec, withServiceDefaults } from './service-spec.ts';

const base = (): ServiceSpec => ({ Name: 'web', Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox' } } });

function messageOf(spec: ServiceSpec): string {
  try {
    validateServiceSpec(spec);
  } catch (err) {
    assert.instance(err, InvalidArgumentError);
    return (err as Error).message;
  }
  return '';
}

test('defaults are Docker’s: 1 replica, restart any after 5 s, stop grace 10 s, stop-first updates', () => {
  const s = withServiceDefaults(base());
  assert.equal(s.Mode, { Replicated: { Replicas: 1 } });
  assert.equal(s.TaskTemplate.RestartPolicy, { Condition: 'any', Delay: 5e9, MaxAttempts: 0, Window: 0 });
  assert.is(s.TaskTemplate.ContainerSpec.StopGracePeriod, 10e9);
  assert.equal(s.UpdateConfig, { Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' });
  assert.equal(s.RollbackConfig, DEFAULTS.update);
  assert.is(s.EndpointSpec?.Mode, 'vip');
});

test('defaults keep given values, even zero, and do not modify the input', () => {
  const spec = base();
  spec.Mode = { Replicated: { Replicas: 0 } };
  spec.UpdateConfig = { Parallelism: 0, Order: 'start-first' };
  const s = withServiceDefaults(spec);
  assert.is(s.Mode?.Replicated?.Replicas, 0);
  assert.is(s.UpdateConfig?.Parallelism, 0);
  assert.is(s.UpdateConfig?.Order, 'start-first');
  assert.is(s.UpdateConfig?.FailureAction, 'pause');
  assert.is(spec.TaskTemplate.RestartPolicy, undefined);
});

test('jobs get no update config, restart on failure, and completions default to max concurrent', () => {
  const spec = base();
  spec.Mode = { ReplicatedJob: { MaxConcurrent: 3 } };
  const s = withServiceDefaults(spec);
  assert.equal(s.Mode?.ReplicatedJob, { MaxConcurrent: 3, TotalCompletions: 3 });
  assert.is(s.UpdateConfig, undefined);
  assert.is(s.TaskTemplate.RestartPolicy?.Condition, 'on-failure');
  validateServiceSpec(s);
});

test('published ports default to tcp and ingress', () => {
  const spec = base();
  spec.EndpointSpec = { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] };
  assert.equal(withServiceDefaults(spec).EndpointSpec?.Ports, [{ TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp', PublishMode: 'ingress' }]);
});

test('a valid spec with defaults passes', () => {
  validateServiceSpec(withServiceDefaults(base()));
});

const cases: [string, (s: ServiceSpec) => void, string][] = [
  ['empty image', (s) => (s.TaskTemplate.ContainerSpec.Image = ''), 'TaskTemplate.ContainerSpec.Image: must not be empty'],
  ['negative replicas', (s) => (s.Mode = { Replicated: { Replicas: -1 } }), 'Mode.Replicated.Replicas: must not be negative (got -1)'],
  ['two modes', (s) => (s.Mode = { Replicated: {}, Global: {} }), 'Mode: only one of Replicated, Global, ReplicatedJob, GlobalJob may be set (got Replicated, Global)'],
  ['bad name', (s) => (s.Name = '-web'), 'Name: "-web" is invalid: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
  ['long name', (s) => (s.Name = 'a'.repeat(64)), 'Name: must be at most 63 characters (got 64)'],
  ['empty name', (s) => (s.Name = ''), 'Name: must not be empty'],
  ['constraint without operator', (s) => (s.TaskTemplate.Placement = { Constraints: ['node.role=manager'] }), 'TaskTemplate.Placement.Constraints: constraint expected one operator from ==, !='],
  ['constraint bad key', (s) => (s.TaskTemplate.Placement = { Constraints: ['node role==manager'] }), "TaskTemplate.Placement.Constraints: key 'node role' is invalid"],
  ['constraint bad value', (s) => (s.TaskTemplate.Placement = { Constraints: ['node.labels.a==>3'] }), "TaskTemplate.Placement.Constraints: value '>3' is invalid"],
  ['anonymous volume', (s) => (s.TaskTemplate.ContainerSpec.Mounts = [{ Type: 'volume', Target: '/data' }]), 'TaskTemplate.ContainerSpec.Mounts[0].Source: anonymous volumes (a volume mount without a source) are not supported yet: name the volume'],
  ['relative mount target', (s) => (s.TaskTemplate.ContainerSpec.Mounts = [{ Type: 'volume', Source: 'v', Target: 'data' }]), 'TaskTemplate.ContainerSpec.Mounts[0].Target: "data" must be an absolute path'],
  ['bind without source', (s) => (s.TaskTemplate.ContainerSpec.Mounts = [{ Type: 'bind', Target: '/data' }]), 'TaskTemplate.ContainerSpec.Mounts[0].Source: must not be empty for a bind mount'],
  ['tmpfs with source', (s) => (s.TaskTemplate.ContainerSpec.Mounts = [{ Type: 'tmpfs', Source: '/x', Target: '/t' }]), 'TaskTemplate.ContainerSpec.Mounts[0].Source: must be empty for a tmpfs mount'],
  ['unknown mount type', (s) => (s.TaskTemplate.ContainerSpec.Mounts = [{ Type: 'npipe' as 'bind', Target: '/t' }]), 'TaskTemplate.ContainerSpec.Mounts[0].Type: unknown mount type "npipe" (bind, volume, tmpfs)'],
  [
    'duplicate mount target',
    (s) => (s.TaskTemplate.ContainerSpec.Mounts = [{ Type: 'tmpfs', Target: '/t' }, { Type: 'volume', Source: 'v1', Target: '/t' }]),
    'TaskTemplate.ContainerSpec.Mounts[1].Target: duplicate mount point "/t"',
  ],
  ['unknown restart condition', (s) => (s.TaskTemplate.RestartPolicy = { Condition: 'always' as 'any' }), 'TaskTemplate.RestartPolicy.Condition: unknown restart condition "always" (none, on-failure, any)'],
  ['job with update config', (s) => ((s.Mode = { ReplicatedJob: {} }), (s.UpdateConfig = { Parallelism: 2 })), 'UpdateConfig: jobs do not support update configuration'],
  [
    'duplicate published port',
    (s) => (s.EndpointSpec = { Ports: [{ TargetPort: 80, PublishedPort: 8080 }, { TargetPort: 81, PublishedPort: 8080, Protocol: 'tcp' }] }),
    'EndpointSpec.Ports[1].PublishedPort: duplicate published port 8080/tcp',
  ],
  ['bad template', (s) => (s.TaskTemplate.ContainerSpec.Hostname = '{{.Service.Nome}}'), "TaskTemplate.ContainerSpec.Hostname: template: can't evaluate field Nome in {{.Service.Nome}}"],
  ['max replicas on global', (s) => ((s.Mode = { Global: {} }), (s.TaskTemplate.Placement = { MaxReplicas: 1 })), 'TaskTemplate.Placement.MaxReplicas: can only be used with replicated mode'],
  ['tiny memory reservation', (s) => (s.TaskTemplate.Resources = { Reservations: { MemoryBytes: 1024 } }), 'TaskTemplate.Resources.Reservations.MemoryBytes: 1024 bytes is below the minimum of 4MiB'],
  ['bad spread', (s) => (s.TaskTemplate.Placement = { Preferences: [{ Spread: { SpreadDescriptor: 'node.role' } }] }), 'TaskTemplate.Placement.Preferences[0].Spread.SpreadDescriptor: "node.role" must be node.labels.NAME or engine.labels.NAME'],
  ['dnsrr with ingress port', (s) => (s.EndpointSpec = { Mode: 'dnsrr', Ports: [{ TargetPort: 80, PublishedPort: 80 }] }), "EndpointSpec.Ports[0].PublishMode: port published with ingress mode can't be used with dnsrr mode"],
];

for (const [name, mutate, want] of cases) {
  test(`validation names the field: ${name}`, () => {
    const s = base();
    mutate(s);
    assert.is(messageOf(s), `invalid ServiceSpec: ${want}`);
  });
}

test('host-mode ports without a published port never conflict', () => {
  const s = base();
  s.EndpointSpec = { Ports: [{ TargetPort: 80, PublishMode: 'host' }, { TargetPort: 81, PublishMode: 'host' }] };
  validateServiceSpec(s);
});

test('same published port on tcp and udp is allowed', () => {
  const s = base();
  s.EndpointSpec = { Ports: [{ TargetPort: 53, PublishedPort: 53, Protocol: 'tcp' }, { TargetPort: 53, PublishedPort: 53, Protocol: 'udp' }] };
  validateServiceSpec(s);
});

test.run();
