/**
 * The orchestrator and the scheduler together, driven through random cluster events
 * (scaling, nodes going down, coming back, drained, paused, tasks failing) with a
 * seeded random source; after each event the loop converges and the invariants of a
 * replicated service are checked. A failing seed is printed so it can be replayed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Node } from '../../api/types/node.ts';
import type { Service } from '../../api/types/service.ts';
import { isTerminal, type Task } from '../../api/types/task.ts';
import { schedule } from '../scheduler/scheduler.ts';
import { apply } from '../testing/apply.ts';
import { node, service } from '../testing/fixtures.ts';
import { reconcileService } from './index.ts';
import { tasksToDelete } from './task-reaper.ts';
import { wantsToRun } from '../../common/task-state.ts';
import { prng } from '../../common/prng.ts';

interface World {
  now: number;
  nodes: Map<string, Node>;
  tasks: Task[];
  service: Service;
  nextId: number;
}

const ts = (ms: number) => new Date(ms).toISOString();

/** The agents and the scheduler: place pending tasks, start and stop them as desired. */
function playCluster(w: World): void {
  const pending = w.tasks.filter((t) => !t.NodeID && wantsToRun(t.DesiredState) && !isTerminal(t.Status.State));
  const byNode = new Map<string, Task[]>();
  for (const t of w.tasks) if (t.NodeID) (byNode.get(t.NodeID) ?? byNode.set(t.NodeID, []).get(t.NodeID)!).push(t);
  const { assignments } = schedule(pending, [...w.nodes.values()], byNode);
  w.tasks = w.tasks.map((t) => {
    const to = assignments.get(t.ID);
    const placed = to ? { ...t, NodeID: to, Status: { ...t.Status, State: 'assigned' as const, Timestamp: ts(w.now) } } : t;
    if (!placed.NodeID || isTerminal(placed.Status.State)) return placed;
    if (w.nodes.get(placed.NodeID)?.Status.State === 'down') return placed; // a dead node reports nothing
    if (!wantsToRun(placed.DesiredState)) return { ...placed, Status: { ...placed.Status, State: 'shutdown', Timestamp: ts(w.now) } };
    const state = placed.DesiredState === 'ready' ? 'ready' : 'running';
    return placed.Status.State === state ? placed : { ...placed, Status: { ...placed.Status, State: state, Timestamp: ts(w.now) } };
  });
}

function converge(w: World, seed: number): void {
  for (let i = 0; i < 50; i++) {
    const r = reconcileService(w.service, w.tasks, w.nodes, { now: w.now, newId: () => `t${++w.nextId}` });
    w.tasks = apply(w.tasks, r);
    const del = new Set(tasksToDelete(w.tasks, { services: new Map([[w.service.ID, w.service]]) }));
    w.tasks = w.tasks.filter((t) => !del.has(t.ID));
    const before = JSON.stringify(w.tasks);
    playCluster(w);
    const quiet = r.create.length === 0 && r.update.length === 0 && before === JSON.stringify(w.tasks);
    if (quiet && r.wakeAt === undefined) return;
    if (quiet) w.now = r.wakeAt!;
  }
  assert.unreachable(`seed ${seed}: did not converge`);
}

function checkInvariants(w: World, seed: number, step: number): void {
  const replicas = w.service.Spec.Mode!.Replicated!.Replicas!;
  const live = w.tasks.filter((t) => wantsToRun(t.DesiredState) && !isTerminal(t.Status.State));
  const slots = live.map((t) => t.Slot!);
  const where = `seed ${seed} step ${step}`;
  assert.is(new Set(slots).size, slots.length, `${where}: a slot is doubled`);
  assert.is(slots.length, replicas, `${where}: ${slots.length} live slots, want ${replicas}`);
  for (const t of live) {
    if (!t.NodeID) continue;
    const n = w.nodes.get(t.NodeID);
    assert.ok(n && n.Status.State !== 'down' && n.Spec.Availability !== 'drain', `${where}: live task ${t.ID} on unusable node ${t.NodeID}`);
  }
  const schedulable = [...w.nodes.values()].some((n) => n.Status.State === 'ready' && n.Spec.Availability === 'active');
  if (schedulable) assert.ok(live.every((t) => t.NodeID), `${where}: a task stayed pending with a usable node`);
}

test('replicated service: random scaling, node loss, drain and task failures keep every slot filled exactly once', () => {
  for (let seed = 1; seed <= 80; seed++) {
    const rand = prng(seed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const w: World = {
      now: 1_000_000,
      nodes: new Map(['a', 'b', 'c', 'd'].map((id) => [id, node(id)])),
      tasks: [],
      service: service('web', { Mode: { Replicated: { Replicas: 3 } } }),
      nextId: 0,
    };
    converge(w, seed);
    checkInvariants(w, seed, 0);
    for (let step = 1; step <= 25; step++) {
      const ev = rand();
      const id = pick([...w.nodes.keys()]);
      const n = w.nodes.get(id)!;
      if (ev < 0.2) {
        w.service = { ...w.service, Spec: { ...w.service.Spec, Mode: { Replicated: { Replicas: Math.floor(rand() * 8) } } } };
      } else if (ev < 0.35) {
        w.nodes.set(id, { ...n, Status: { ...n.Status, State: n.Status.State === 'down' ? 'ready' : 'down' } });
      } else if (ev < 0.5) {
        const a = pick(['active', 'drain', 'pause'] as const);
        w.nodes.set(id, { ...n, Spec: { ...n.Spec, Availability: a } });
      } else {
        const running = w.tasks.filter((t) => t.Status.State === 'running');
        if (running.length) {
          const victim = pick(running);
          const exit = pick(['failed', 'complete'] as const);
          w.tasks = w.tasks.map((t) => (t === victim ? { ...t, Status: { ...t.Status, State: exit, Timestamp: ts(w.now) } } : t));
        }
      }
      w.now += Math.floor(rand() * 3000);
      converge(w, seed);
      checkInvariants(w, seed, step);
    }
  }
});

test('global service: one live task per usable node after random node events', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const rand = prng(seed);
    const nodes = new Map(['a', 'b', 'c'].map((id) => [id, node(id)]));
    const w: World = { now: 0, nodes, tasks: [], service: service('mon', { Mode: { Global: {} } }), nextId: 0 };
    for (let step = 0; step < 20; step++) {
      const id = ['a', 'b', 'c', 'd'][Math.floor(rand() * 4)];
      const ev = rand();
      const n = w.nodes.get(id);
      if (!n) w.nodes.set(id, node(id));
      else if (ev < 0.25) w.nodes.delete(id);
      else if (ev < 0.5) w.nodes.set(id, { ...n, Status: { ...n.Status, State: n.Status.State === 'down' ? 'ready' : 'down' } });
      else w.nodes.set(id, { ...n, Spec: { ...n.Spec, Availability: rand() < 0.5 ? 'active' : 'drain' } });
      w.now += 1000;
      converge(w, seed);
      const live = w.tasks.filter((t) => wantsToRun(t.DesiredState) && !isTerminal(t.Status.State));
      const usable = [...w.nodes.values()].filter((x) => x.Status.State === 'ready' && x.Spec.Availability === 'active').map((x) => x.ID).sort();
      assert.equal(live.map((t) => t.NodeID).sort(), usable, `seed ${seed} step ${step}`);
    }
  }
});

test.run();
