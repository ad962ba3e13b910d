import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task } from '../api/types/task.ts';
import { containerSpecOf } from './task-spec.ts';

const node = { ID: 'node1', Description: { Hostname: 'h1', Platform: { OS: 'linux', Architecture: 'x86_64' } } } as never;

function task(c: Task['Spec']['ContainerSpec'], extra: Partial<Task['Spec']> = {}): Task {
  return {
    ID: 'task1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: { ContainerSpec: c, ...extra },
    ServiceID: 'svc1', Slot: 2, NodeID: 'node1', Status: { Timestamp: '', State: 'assigned', Message: '' }, DesiredState: 'running',
    ServiceAnnotations: { Name: 'web', Labels: {} },
  };
}

test('templates are expanded and durations become milliseconds', () => {
  const s = containerSpecOf(task({
    Image: 'bb:v1', Command: ['sleep'], Args: ['60'], Hostname: '{{.Service.Name}}-{{.Task.Slot}}', Env: ['NODE={{.Node.Hostname}}'],
    StopGracePeriod: 2e9, StopSignal: 'SIGINT', Healthcheck: { Test: ['CMD', 'true'], Interval: 5e9, Retries: 2 },
  }), node);
  assert.equal(s.taskId, 'task1');
  assert.equal(s.image, 'bb:v1');
  assert.equal([s.command, s.args], [['sleep'], ['60']]);
  assert.is(s.hostname, 'web-2');
  assert.equal(s.env, ['NODE=h1']);
  assert.is(s.stopGracePeriodMs, 2000);
  assert.is(s.stopSignal, 'SIGINT');
  assert.equal(s.healthcheck, { test: ['CMD', 'true'], intervalMs: 5000, retries: 2 });
  assert.is(s.labels?.['com.docker.swarm.service.name'], 'web');
});

test('mounts, limits and kernel options are mapped', () => {
  const s = containerSpecOf(task({
    Image: 'bb', Mounts: [{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1024 } }, { Type: 'volume', Source: 'v', Target: '/v', ReadOnly: true }],
    CapabilityAdd: ['NET_ADMIN'], Sysctls: { 'net.ipv4.ip_forward': '1' }, Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }],
  }, { Resources: { Limits: { MemoryBytes: 64 << 20, Pids: 10 } } }), node);
  assert.equal(s.mounts, [{ type: 'tmpfs', target: '/t', tmpfsSize: 1024 }, { type: 'volume', source: 'v', target: '/v', readOnly: true }]);
  assert.equal(s.resources, { memoryBytes: 64 << 20, pidsLimit: 10 });
  assert.equal(s.capAdd, ['NET_ADMIN']);
  assert.equal(s.ulimits, [{ name: 'nofile', soft: 10, hard: 20 }]);
  assert.equal(s.sysctls, { 'net.ipv4.ip_forward': '1' });
});

test('privileges map onto the executor\'s sandbox fields', () => {
  const s = containerSpecOf(task({
    Image: 'bb', CapabilityAdd: ['NET_ADMIN'], CapabilityDrop: ['ALL'],
    Privileges: { Privileged: true, Seccomp: { Mode: 'custom', Profile: 'e30=' }, AppArmor: { Mode: 'disabled' }, NoNewPrivileges: true },
  }), node);
  assert.equal([s.capAdd, s.capDrop], [['NET_ADMIN'], ['ALL']]);
  assert.equal([s.privileged, s.seccompMode, s.seccompProfile, s.apparmorMode, s.noNewPrivileges], [true, 'custom', 'e30=', 'disabled', true]);
  const plain = containerSpecOf(task({ Image: 'bb', Privileges: { Seccomp: { Mode: 'default' }, CredentialSpec: null } }), node);
  assert.equal([plain.privileged, plain.seccompMode, plain.apparmorMode, plain.noNewPrivileges], [undefined, undefined, undefined, undefined]);
  assert.is(containerSpecOf(task({ Image: 'bb', Privileges: { Seccomp: { Mode: 'unconfined' } } }), node).seccompMode, 'unconfined');
});

test.run();
