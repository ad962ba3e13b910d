import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TaskSpec } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { byNode, node, task } from '../testing/fixtures.ts';
import { schedule } from './scheduler.ts';

const pending = (n: number, svc: string, spec?: TaskSpec, prefix = svc): Task[] =>
  Array.from({ length: n }, (_, i) => task(`${prefix}-t${i + 1}`, svc, { slot: i + 1, state: 'pending', spec }));

function counts(assignments: Map<string, string>): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of assignments.values()) c[n] = (c[n] ?? 0) + 1;
  return c;
}

test('spreads a service evenly over the nodes', () => {
  const r = schedule(pending(9, 's'), [node('a'), node('b'), node('c')], new Map());
  assert.equal(counts(r.assignments), { a: 3, b: 3, c: 3 });
  assert.is(r.unplaced.size, 0);
});

test('prefers nodes with fewer tasks of the service, then fewer tasks overall', () => {
  const existing = [
    task('x1', 's', { node: 'a' }),
    task('o1', 'other', { node: 'b' }),
    task('o2', 'other', { node: 'b' }),
    task('o3', 'other', { node: 'c' }),
  ];
  const r = schedule(pending(2, 's'), [node('a'), node('b'), node('c')], byNode(existing));
  assert.equal(counts(r.assignments), { c: 1, b: 1 });
  const first = schedule(pending(1, 's'), [node('a'), node('b'), node('c')], byNode(existing));
  assert.equal([...first.assignments.values()], ['c']);
});

test('finished tasks do not count against a node', () => {
  const existing = [task('x1', 's', { node: 'a', state: 'failed', desired: 'shutdown' })];
  const r = schedule(pending(2, 's'), [node('a'), node('b')], byNode(existing));
  assert.equal(counts(r.assignments), { a: 1, b: 1 });
});

test('constraints with == and != and node labels pick the matching nodes', () => {
  const nodes = [node('a', { labels: { zone: 'east' } }), node('b', { labels: { zone: 'west' } }), node('m', { role: 'manager', labels: { zone: 'east' } })];
  const spec: TaskSpec = { ContainerSpec: { Image: 'x' }, Placement: { Constraints: ['node.labels.zone==east', 'node.role!=manager'] } };
  const r = schedule(pending(3, 's', spec), nodes, new Map());
  assert.equal(counts(r.assignments), { a: 3 });
});

test('a constraint no node meets leaves tasks pending with Docker’s explanation', () => {
  const spec: TaskSpec = { ContainerSpec: { Image: 'x' }, Placement: { Constraints: ['node.labels.gpu==true'] } };
  const r = schedule(pending(2, 's', spec), [node('a'), node('b'), node('c')], new Map());
  assert.is(r.assignments.size, 0);
  assert.is(r.unplaced.get('s-t1'), 'no suitable node (scheduling constraints not satisfied on 3 nodes)');
});

test('placement preferences spread over racks before nodes', () => {
  const nodes = [node('a1', { labels: { rack: 'r1' } }), node('b1', { labels: { rack: 'r2' } }), node('b2', { labels: { rack: 'r2' } }), node('b3', { labels: { rack: 'r2' } })];
  const spec: TaskSpec = { ContainerSpec: { Image: 'x' }, Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.rack' } }] } };
  const r = schedule(pending(6, 's', spec), nodes, new Map());
  assert.equal(counts(r.assignments), { a1: 3, b1: 1, b2: 1, b3: 1 });
});

test('hierarchical preferences: datacenter, then rack', () => {
  const nodes = [
    node('n1', { labels: { dc: 'east', rack: 'e1' } }),
    node('n2', { labels: { dc: 'east', rack: 'e2' } }),
    node('n3', { labels: { dc: 'west', rack: 'w1' } }),
    node('n4', { labels: { dc: 'west', rack: 'w1' } }),
  ];
  const spec: TaskSpec = {
    ContainerSpec: { Image: 'x' },
    Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.dc' } }, { Spread: { SpreadDescriptor: 'node.labels.rack' } }] },
  };
  const r = schedule(pending(4, 's', spec), nodes, new Map());
  assert.equal(counts(r.assignments), { n1: 1, n2: 1, n3: 1, n4: 1 });
});

test('nodes without the preference label form their own branch', () => {
  const nodes = [node('a', { labels: { rack: 'r1' } }), node('b'), node('c')];
  const spec: TaskSpec = { ContainerSpec: { Image: 'x' }, Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.rack' } }] } };
  const r = schedule(pending(4, 's', spec), nodes, new Map());
  assert.equal(counts(r.assignments), { a: 2, b: 1, c: 1 });
});

test('reservations count what a node’s tasks already reserve and leave the rest pending', () => {
  const spec: TaskSpec = { ContainerSpec: { Image: 'x' }, Resources: { Reservations: { NanoCPUs: 1e9 } } };
  const existing = [task('old', 'other', { node: 'a', spec: { ContainerSpec: { Image: 'x' }, Resources: { Reservations: { NanoCPUs: 1e9 } } } })];
  const r = schedule(pending(4, 's', spec), [node('a', { cpus: 2 }), node('b', { cpus: 2 })], byNode(existing));
  assert.equal(counts(r.assignments), { a: 1, b: 2 });
  assert.equal([...r.unplaced.values()], ['no suitable node (insufficient resources on 2 nodes)']);
});

test('explanations combine, most nodes first, as Docker does', () => {
  const spec: TaskSpec = { ContainerSpec: { Image: 'x' }, Resources: { Reservations: { MemoryBytes: 16 * 2 ** 30 } }, Placement: { Constraints: ['node.role==worker'] } };
  const nodes = [node('a'), node('b'), node('m', { role: 'manager', memoryGiB: 64 }), node('d', { availability: 'drain' }), node('e', { state: 'down' }), node('f', { availability: 'pause' })];
  const r = schedule(pending(1, 's', spec), nodes, new Map());
  assert.is(r.unplaced.get('s-t1'), 'no suitable node (3 nodes not available for new tasks; insufficient resources on 2 nodes; scheduling constraints not satisfied on 1 node)');
});

test('no nodes at all: "no suitable node"', () => {
  const r = schedule(pending(1, 's'), [], new Map());
  assert.is(r.unplaced.get('s-t1'), 'no suitable node');
});

test('max replicas per node caps each node', () => {
  const spec: TaskSpec = { ContainerSpec: { Image: 'x' }, Placement: { MaxReplicas: 2 } };
  const r = schedule(pending(5, 's', spec), [node('a'), node('b')], byNode([task('x', 's', { node: 'a', spec })]));
  assert.equal(counts(r.assignments), { a: 1, b: 2 });
  assert.equal([...r.unplaced.values()], ['no suitable node (max replicas per node limit exceed)', 'no suitable node (max replicas per node limit exceed)']);
});

test('host-mode published ports conflict on a node, ingress ports do not', () => {
  const ep = { Spec: {}, Ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' as const, Protocol: 'tcp' as const }] };
  const tasks = pending(3, 's').map((t) => ({ ...t, Endpoint: ep }));
  const existing = [{ ...task('x', 'other', { node: 'a' }), Endpoint: ep }];
  const r = schedule(tasks, [node('a'), node('b'), node('c')], byNode(existing));
  assert.equal(counts(r.assignments), { b: 1, c: 1 });
  assert.equal([...r.unplaced.values()], ['no suitable node (host-mode port already in use on 3 nodes)']);
  const ingress = { Spec: {}, Ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' as const }] };
  const r2 = schedule(pending(3, 's').map((t) => ({ ...t, Endpoint: ingress })), [node('a')], new Map());
  assert.is(r2.assignments.size, 3);
});

test('a task that names its node (global) is checked against that node only', () => {
  const t1 = { ...task('g1', 'g', { state: 'pending' }), NodeID: 'a' };
  const t2 = { ...task('g2', 'g', { state: 'pending' }), NodeID: 'd' };
  const r = schedule([t1, t2], [node('a'), node('d', { state: 'down' })], new Map());
  assert.equal([...r.assignments], [['g1', 'a']]);
  assert.is(r.unplaced.get('g2'), 'no suitable node (1 node not available for new tasks)');
});

test('several services in one call are each spread, and count each other overall', () => {
  const r = schedule([...pending(2, 's1'), ...pending(2, 's2')], [node('a'), node('b')], new Map());
  assert.equal(counts(r.assignments), { a: 2, b: 2 });
  assert.is.not(r.assignments.get('s1-t1'), r.assignments.get('s1-t2'));
  assert.is.not(r.assignments.get('s2-t1'), r.assignments.get('s2-t2'));
});

test('is deterministic: same input, same placement', () => {
  const nodes = Array.from({ length: 7 }, (_, i) => node(`n${i}`, { labels: { rack: `r${i % 3}` } }));
  const spec: TaskSpec = { ContainerSpec: { Image: 'x' }, Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.rack' } }] } };
  const a = schedule(pending(20, 's', spec), nodes, new Map());
  const b = schedule(pending(20, 's', spec), nodes, new Map());
  assert.equal([...a.assignments], [...b.assignments]);
});

test('a node where the service failed 5 times in 5 minutes goes last, when the time is given', () => {
  const fails = Array.from({ length: 5 }, (_, i) => task(`f${i}`, 's', { node: 'a', state: 'failed', desired: 'shutdown', at: 1_000_000 + i }));
  const busy = [task('o1', 'other', { node: 'b' })];
  const withTime = schedule(pending(1, 's'), [node('a'), node('b')], byNode([...fails, ...busy]), { now: 1_100_000 });
  assert.equal([...withTime.assignments.values()], ['b']);
  const later = schedule(pending(1, 's'), [node('a'), node('b')], byNode([...fails, ...busy]), { now: 1_000_000 + 6 * 60_000 });
  assert.equal([...later.assignments.values()], ['a'], 'failures older than 5 minutes do not count');
  const timeless = schedule(pending(1, 's'), [node('a'), node('b')], byNode([...fails, ...busy]));
  assert.equal([...timeless.assignments.values()], ['a']);
});

test('tasks stopped before placement are skipped', () => {
  const t = { ...task('x', 's', { state: 'pending', desired: 'shutdown' }) };
  const r = schedule([t], [node('a')], new Map());
  assert.is(r.assignments.size + r.unplaced.size, 0);
});

test('job tasks (desired complete) are placed', () => {
  const r = schedule([task('j', 's', { state: 'pending', desired: 'complete' })], [node('a')], new Map());
  assert.equal([...r.assignments], [['j', 'a']]);
});

test.run();
