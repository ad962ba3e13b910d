// The flag parsers and printers of the swarm and node commands, as docker's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Node } from '../src/api/types/node.ts';
import { applySpecFlags, labelsToMap, nodeFilters, parseAvailability, parseGoDuration } from './swarm-options.ts';
import { bytesSize, goTime, nodeRow, prettyPrint } from './swarm-format.ts';

test('Go durations become nanoseconds', () => {
  assert.is(parseGoDuration('2160h0m0s'), 2160 * 3600e9);
  assert.is(parseGoDuration('5s'), 5e9);
  assert.is(parseGoDuration('1h30m'), 5400e9);
  assert.is(parseGoDuration('1.5s'), 1.5e9);
  assert.is(parseGoDuration('300ms'), 300e6);
  assert.is(parseGoDuration('10us'), 10e3);
  assert.is(parseGoDuration('7ns'), 7);
  assert.is(parseGoDuration('0'), 0);
  assert.is(parseGoDuration('-2m'), -120e9);
});

test('malformed durations are refused with Go\'s messages', () => {
  assert.throws(() => parseGoDuration('90d'), /time: unknown unit "d" in duration "90d"/);
  assert.throws(() => parseGoDuration('5'), /time: missing unit in duration "5"/);
  assert.throws(() => parseGoDuration(''), /time: invalid duration ""/);
  assert.throws(() => parseGoDuration('h'), /time: invalid duration "h"/);
  assert.throws(() => parseGoDuration('1.2.3s'), /time: /);
});

test('availability is accepted in any case; anything else is refused as docker words it', () => {
  assert.is(parseAvailability('Drain'), 'drain');
  assert.throws(() => parseAvailability('off'), /invalid availability "off", only active, pause and drain are supported/);
});

test('labels: k=v, k alone maps to empty, an empty key is refused', () => {
  assert.equal(labelsToMap(['zone=a', 'ssd', 'x=1=2']), { zone: 'a', ssd: '', x: '1=2' });
  assert.throws(() => labelsToMap(['=v']), /the key must not be empty/);
});

test('node filters go to the API in docker\'s map form; bad ones are refused', () => {
  assert.is(nodeFilters(undefined), undefined);
  assert.equal(JSON.parse(nodeFilters(['role=manager', 'node.label=zone=a', 'role=worker'])!), { role: { manager: true, worker: true }, 'node.label': { 'zone=a': true } });
  assert.throws(() => nodeFilters(['role']), /bad format of filter \(expected name=value\)/);
  assert.throws(() => nodeFilters(['colour=red']), /invalid filter 'colour'/);
});

test('spec flags change only the fields given', () => {
  assert.equal(applySpecFlags({}, {}), {});
  assert.equal(applySpecFlags({}, { 'task-history-limit': 0, 'cert-expiry': 3600e9 }), {
    Orchestration: { TaskHistoryRetentionLimit: 0 }, CAConfig: { NodeCertExpiry: 3600e9 },
  });
});

test('printers: PrettyPrint, binary sizes, Go times', () => {
  assert.is(prettyPrint('ready'), 'Ready');
  assert.is(prettyPrint('REACHABLE'), 'Reachable');
  assert.is(prettyPrint(''), '');
  assert.is(bytesSize(8_271_712_256), '7.704GiB');
  assert.is(bytesSize(512), '512B');
  assert.is(goTime('2026-11-23T14:32:28.120Z'), '2026-11-23 14:32:28.12 +0000 UTC');
  assert.is(goTime('2026-11-23T14:32:28Z'), '2026-11-23 14:32:28 +0000 UTC');
});

test('node ls rows: the leader says Leader, a worker has no manager status', () => {
  const base = {
    ID: 'n1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '',
    Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
    Description: { Hostname: 'h1', Platform: { OS: 'linux', Architecture: 'x86_64' }, Resources: { NanoCPUs: 0, MemoryBytes: 0 }, Engine: { EngineVersion: '0.1.0', Labels: {}, Plugins: [] } },
    Status: { State: 'ready', Addr: '127.0.0.1' },
    ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '127.0.0.1:2377' },
  } satisfies Node;
  const self = { NodeID: 'n1', NodeAddr: '', LocalNodeState: 'active' as const, ControlAvailable: true, Error: '', RemoteManagers: null };
  assert.equal(nodeRow(base, self), {
    ID: 'n1', Self: true, Hostname: 'h1', Status: 'Ready', Availability: 'Active', ManagerStatus: 'Leader', EngineVersion: '0.1.0', TLSStatus: 'Unknown',
  });
  const { ManagerStatus: _ms, ...worker } = base;
  assert.is(nodeRow({ ...worker, Spec: { ...base.Spec, Role: 'worker' } }, undefined).ManagerStatus, '');
});

test.run();
