import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { Node } from '../../api/types/node.ts';
import type { Service, ServiceSpec } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { byNode, node, service, task } from '../testing/fixtures.ts';
import { DEFAULT_TIMING, MOVED_FROM_LABEL, hideMovedTasks, planRebalance, type RebalanceInput } from './rebalance.ts';

const NOW = 1_000_000;
const settled = (ids: string[], since = NOW - DEFAULT_TIMING.settleMs): Map<string, number> => new Map(ids.map((id) => [id, since]));
const svc = (spec: Partial<ServiceSpec> = {}): Service => service('web', { Mode: { Replicated: { Replicas: 6 } }, ...spec });
/** `n` running tasks of `web` on each node, slots numbered across nodes. */
function spread(per: Record<string, number>): Task[] {
  const out: Task[] = [];
  for (const [n, c] of Object.entries(per)) for (let i = 0; i < c; i++) out.push(task(`t${out.length + 1}`, 'web', { slot: out.length + 1, node: n, created: NOW - 60_000 }));
  return out;
}
const input = (tasks: Task[], o: Partial<RebalanceInput> = {}): RebalanceInput => ({
  service: svc(), tasks, nodes: ['a', 'b', 'c'].map((id) => node(id)), tasksByNode: byNode(tasks), now: NOW, stableSince: settled(['a', 'b', 'c']), ...o,
});
const counts = (tasks: Task[]): Record<string, number> => {
  const c: Record<string, number> = {};
  for (const t of tasks) if (t.DesiredState === 'running' && t.NodeID && !['shutdown', 'failed'].includes(t.Status.State)) c[t.NodeID] = (c[t.NodeID] ?? 0) + 1;
  return c;
};

test('a task moves from the fullest node to a settled empty one, with its reason', () => {
  const tasks = spread({ a: 3, b: 3 });
  const p = planRebalance(input(tasks, { nodeReasons: new Map([['c', 'joined']]) }));
  assert.is(p.start.length, 1, 'parallelism 1: one move at a time');
  assert.is(p.start[0].fromNode, 'a');
  assert.is(p.start[0].toNode, 'c');
  assert.is(p.start[0].order, 'stop-first');
  assert.is(p.start[0].reason, 'host-c joined; host-a has 3 tasks of web, host-c has 0');
});

test('a node that is not settled yet gets nothing, and the plan wakes when it will be', () => {
  const p = planRebalance(input(spread({ a: 3, b: 3 }), { stableSince: new Map([['a', 0], ['b', 0], ['c', NOW - 2_000]]) }));
  assert.is(p.start.length, 0);
  assert.is(p.wakeAt, NOW - 2_000 + DEFAULT_TIMING.settleMs);
});

test('a gap of one is not worth a move', () => {
  assert.is(planRebalance(input(spread({ a: 3, b: 2, c: 2 }))).start.length, 0);
  assert.is(planRebalance(input(spread({ a: 2, b: 2, c: 2 }))).start.length, 0);
});

test('jobs, opted-out services, an opted-out swarm, preferences and updates are left alone', () => {
  const tasks = spread({ a: 3, b: 3 });
  const skip = (o: Partial<RebalanceInput>) => planRebalance(input(tasks, o)).skipped;
  assert.match(skip({ service: svc({ Mode: { ReplicatedJob: { TotalCompletions: 6 } } }) })!, /not a replicated/);
  assert.match(skip({ service: svc({ Labels: { 'com.shoal.rebalance': 'false' } }) })!, /off for the service/);
  assert.match(skip({ swarmLabels: { 'com.shoal.rebalance': 'false' } })!, /off for the swarm/);
  assert.match(skip({ service: svc({ TaskTemplate: { ContainerSpec: { Image: 'x' }, Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.az' } }] } } }) })!, /preferences/);
  assert.match(skip({ service: { ...svc(), UpdateStatus: { State: 'updating', Message: '' } } as Service })!, /in an update/);
  const pending = [...tasks, task('t7', 'web', { slot: 7, state: 'pending' })];
  assert.match(planRebalance(input(pending)).skipped!, /converging/);
});

test('start-first for start-first services and health-checked ones; parallelism bounds the moves', () => {
  const tasks = spread({ a: 4, b: 4 });
  const sf = planRebalance(input(tasks, { service: svc({ UpdateConfig: { Parallelism: 2, Order: 'start-first' } }) }));
  assert.equal(sf.start.map((m) => [m.fromNode, m.toNode, m.order]), [['a', 'c', 'start-first'], ['b', 'c', 'start-first']]);
  const hc = planRebalance(input(tasks, { service: svc({ TaskTemplate: { ContainerSpec: { Image: 'x', Healthcheck: { Test: ['CMD', 'true'] } } } }) }));
  assert.is(hc.start[0].order, 'start-first');
  const all = planRebalance(input(spread({ a: 6, b: 0 }), { service: svc({ UpdateConfig: { Parallelism: 0 } }) }));
  assert.equal(counts(all.start.map((m) => ({ ...m.task, NodeID: m.toNode }))), { b: 2, c: 2 }, 'parallelism 0: every move at once, 2/2/2');
  assert.equal(all.start.map((m) => m.task.Slot), [6, 5, 4, 3], 'each task moves once, the highest slots first');
});

test('a running replacement stops the old task; one stuck past the timeout is cancelled into cooldown', () => {
  const tasks = spread({ a: 3, b: 3 });
  const r = task('r1', 'web', { slot: 1, node: 'c', state: 'running', created: NOW - 1_000 });
  r.Labels = { [MOVED_FROM_LABEL]: 't1' };
  const p = planRebalance(input([...tasks, r]));
  assert.equal(p.finish.map((t) => t.ID), ['t1']);
  const stuck = { ...r, Status: { ...r.Status, State: 'pending' as const }, CreatedAt: new Date(NOW - DEFAULT_TIMING.moveTimeoutMs).toISOString() };
  const c = planRebalance(input([...tasks, stuck]));
  assert.equal(c.cancel.map((t) => [t.ID, t.DesiredState]), [['r1', 'shutdown']]);
  // The cooldown is read back from the cancelled replacement (the store keeps it, not the leader).
  const after = { ...c.cancel[0], Status: { ...stuck.Status, State: 'shutdown' as const } };
  const later = planRebalance(input([...tasks, after], { now: NOW + 1_000 }));
  assert.is(later.start.length, 0, 'no move to a node in cooldown');
  assert.is(later.wakeAt, NOW + DEFAULT_TIMING.cooldownMs);
});

test('the orchestrator does not see a task whose replacement is on its way', () => {
  const old = task('t1', 'web', { slot: 1, node: 'a' });
  const r = task('r1', 'web', { slot: 1, node: 'c', state: 'pending' });
  r.Labels = { [MOVED_FROM_LABEL]: 't1' };
  assert.equal(hideMovedTasks([old, r]).map((t) => t.ID), ['r1']);
  const failed = { ...r, Status: { ...r.Status, State: 'failed' as const } };
  assert.equal(hideMovedTasks([old, failed]).map((t) => t.ID), ['t1', 'r1'], 'a failed replacement gives the slot back');
});

/**
 * Runs the controller's side in memory: creates replacements (pending, running one step
 * later), stops old tasks, advances time by `stepMs`. Returns the tasks and the largest
 * number of moves seen in flight at once.
 */
function simulate(start: Task[], nodes: Node[], steps: number, o: { stepMs?: number; stable?: (id: string, now: number) => number | undefined; spec?: Partial<ServiceSpec> } = {}) {
  let tasks = start.map((t) => structuredClone(t));
  let now = NOW;
  let maxInFlight = 0;
  let next = 0;
  const movedTo: { task: string; slot: number; from: string; to: string }[] = [];
  for (let i = 0; i < steps; i++) {
    tasks = tasks.map((t) => (t.Status.State === 'pending' && t.DesiredState === 'running' ? { ...t, Status: { ...t.Status, State: 'running' } } : t));
    const stableSince = new Map<string, number>();
    for (const n of nodes) {
      const s = o.stable ? o.stable(n.ID, now) : NOW - DEFAULT_TIMING.settleMs;
      if (s !== undefined) stableSince.set(n.ID, s);
    }
    const live = tasks.filter((t) => t.Status.State !== 'shutdown');
    const p = planRebalance({ service: svc(o.spec), tasks: live, nodes, tasksByNode: byNode(live), now, stableSince });
    const stop = new Set([...p.finish.map((t) => t.ID), ...p.cancel.map((t) => t.ID)]);
    for (const m of p.start) {
      if (m.order === 'stop-first') stop.add(m.task.ID);
      const r = task(`r${++next}`, 'web', { slot: m.task.Slot, node: m.toNode, state: 'pending', created: now });
      r.Labels = { [MOVED_FROM_LABEL]: m.task.ID };
      tasks.push(r);
      movedTo.push({ task: m.task.ID, slot: m.task.Slot!, from: m.fromNode, to: m.toNode });
    }
    tasks = tasks.map((t) => (stop.has(t.ID) ? { ...t, DesiredState: 'shutdown', Status: { ...t.Status, State: 'shutdown' } } : t));
    const inFlight = tasks.filter((t) => t.Labels[MOVED_FROM_LABEL] && t.DesiredState === 'running' && (t.Status.State !== 'running' || tasks.some((x) => x.ID === t.Labels[MOVED_FROM_LABEL] && x.DesiredState === 'running'))).length;
    maxInFlight = Math.max(maxInFlight, inFlight);
    now += o.stepMs ?? 1_000;
  }
  return { tasks, maxInFlight, movedTo };
}

test('6 replicas on 2 nodes end 2/2/2 when a third joins, one move at a time, never below 6 start-first', () => {
  const nodes = ['a', 'b', 'c'].map((id) => node(id));
  const r = simulate(spread({ a: 3, b: 3 }), nodes, 20, { spec: { UpdateConfig: { Parallelism: 1, Order: 'start-first' } } });
  assert.equal(counts(r.tasks), { a: 2, b: 2, c: 2 });
  assert.is(r.maxInFlight, 1);
});

test('property: moves end within one of even, never exceed parallelism, never move a task back', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 2, maxLength: 5 }),
    fc.integer({ min: 0, max: 3 }),
    fc.boolean(),
    (per, parallelism, startFirst) => {
      const ids = per.map((_, i) => `n${i}`);
      const tasks = spread(Object.fromEntries(ids.map((id, i) => [id, per[i]])));
      const total = tasks.length;
      const spec: Partial<ServiceSpec> = { Mode: { Replicated: { Replicas: total } }, UpdateConfig: { Parallelism: parallelism, Order: startFirst ? 'start-first' : 'stop-first' } };
      const r = simulate(tasks, ids.map((id) => node(id)), 60, { spec });
      const c = counts(r.tasks);
      const vals = ids.map((id) => c[id] ?? 0);
      if (total > 0 && Math.max(...vals) - Math.min(...vals) > 1) return false;
      if (vals.reduce((a, b) => a + b, 0) !== total) return false;
      if (parallelism > 0 && r.maxInFlight > parallelism) return false;
      // No slot ever goes back to a node it left.
      const left = new Map<number, Set<string>>();
      for (const m of r.movedTo) {
        if (left.get(m.slot)?.has(m.to)) return false;
        (left.get(m.slot) ?? left.set(m.slot, new Set()).get(m.slot)!).add(m.from);
      }
      return true;
    },
  ), { numRuns: 80 });
});

test('property: a node that flaps faster than the settle time never receives a task', () => {
  fc.assert(fc.property(fc.integer({ min: 500, max: DEFAULT_TIMING.settleMs - 1 }), fc.integer({ min: 1, max: 6 }), (period, perNode) => {
    const nodes = ['a', 'b', 'c'].map((id) => node(id));
    // c comes back every `period` ms (down in between), so it is never up for settleMs.
    const stable = (id: string, now: number) => (id === 'c' ? now - ((now - NOW) % period) : NOW - DEFAULT_TIMING.settleMs);
    const r = simulate(spread({ a: perNode, b: perNode }), nodes, 40, { stable, stepMs: 700 });
    return r.movedTo.every((m) => m.to !== 'c');
  }), { numRuns: 50 });
});

test.run();
