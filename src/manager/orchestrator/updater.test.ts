// The updater's decisions, played against the orchestrator and a simulated scheduler and
// agent on a manual clock: one step = orchestrator pass, updater pass, agent step, then
// the clock moves one second. A replacement needs two steps to run (assigned, then
// running), so a stop-first slot is seen down for one step.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service, ServiceSpec, UpdateConfig } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { withServiceDefaults } from '../../api/spec/service-spec.ts';
import { ids } from '../testing/apply.ts';
import { node } from '../testing/fixtures.ts';
import { reconcileService } from './index.ts';
import { newTask } from './new-task.ts';
import { isTaskDirty, manualRollback, planUpdate, tasksForOrchestrator, type UpdatePlan } from './updater.ts';

const S = 1e9;
const nodes = [node('a'), node('b'), node('c')];

function spec(image: string, o: { replicas?: number; global?: boolean; update?: UpdateConfig; rollback?: UpdateConfig } = {}): ServiceSpec {
  return withServiceDefaults({
    Name: 'web',
    Labels: {},
    Mode: o.global ? { Global: {} } : { Replicated: { Replicas: o.replicas ?? 3 } },
    TaskTemplate: { ContainerSpec: { Image: image } },
    UpdateConfig: { Parallelism: 1, Delay: 0, Monitor: 2 * S, ...o.update },
    RollbackConfig: { Parallelism: 1, Delay: 0, Monitor: 2 * S, ...o.rollback },
  });
}

/** A little cluster: the service, its tasks, a clock; images named `bad…` exit 1 when started. */
class Sim {
  now = 1_000_000;
  version = 10;
  tasks: Task[] = [];
  upSince = new Map<string, number>();
  /** Slot (or node) of every task the updater created, in order. */
  replaced: string[] = [];
  plans: UpdatePlan[] = [];
  private newId = ids('t');
  private rr = 0;
  service: Service;

  constructor(first: ServiceSpec) {
    this.service = { ID: 'web', Version: { Index: this.version }, CreatedAt: '', UpdatedAt: '', Spec: first };
    // Converge on the first spec without the updater.
    for (let i = 0; i < 5; i++) this.step({ updater: false });
    this.replaced = [];
  }

  /** The API's update: new spec, previous kept, status cleared. */
  update(next: ServiceSpec): void {
    this.write({ ...this.service, PreviousSpec: this.service.Spec, Spec: next, UpdateStatus: undefined });
  }

  write(s: Service): void {
    this.service = { ...s, Version: { Index: ++this.version } };
  }

  step(o: { updater?: boolean } = {}): void {
    const ctx = { now: this.now, newId: this.newId };
    const r = reconcileService(this.service, tasksForOrchestrator(this.service, this.tasks), nodes, ctx);
    this.applyTasks(r.create, r.update);
    if (o.updater !== false) {
      const p = planUpdate(this.service, this.tasks, { ...ctx, upSince: this.upSince });
      this.plans.push(p);
      this.applyTasks(p.create, p.update);
      for (const t of p.create) this.replaced.push(t.NodeID ?? String(t.Slot));
      if (p.service) this.write(p.service);
    }
    this.agent();
    this.now += 1000;
  }

  private applyTasks(create: Task[], update: Task[]): void {
    const upd = new Map(update.map((t) => [t.ID, t]));
    this.tasks = [...this.tasks.map((t) => upd.get(t.ID) ?? t), ...create];
  }

  private agent(): void {
    const at = new Date(this.now).toISOString();
    this.tasks = this.tasks.map((t) => {
      const set = (State: Task['Status']['State']) => ({ ...t, Status: { ...t.Status, State, Timestamp: at } });
      const st = t.Status.State;
      if (['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned'].includes(st)) return t;
      if (t.DesiredState !== 'running' && t.DesiredState !== 'ready') return set('shutdown');
      if (t.DesiredState === 'ready') return t;
      if (st === 'new') return { ...set('assigned'), NodeID: t.NodeID ?? nodes[this.rr++ % nodes.length].ID };
      if (st === 'assigned') {
        if (t.Spec.ContainerSpec.Image.startsWith('bad')) return set('failed');
        this.upSince.set(t.ID, this.now);
        return set('running');
      }
      return t;
    });
  }

  /** Runs until the update settles (completed, paused or rolled back), checking `each` after every step. */
  run(each: () => void = () => {}, max = 200): void {
    for (let i = 0; i < max; i++) {
      this.step();
      each();
      const s = this.service.UpdateStatus?.State;
      if (s === 'completed' || s === 'paused' || s === 'rollback_completed' || s === 'rollback_paused') return;
    }
    assert.unreachable(`update did not settle: ${JSON.stringify(this.service.UpdateStatus)}`);
  }

  live(): Task[] {
    return this.tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
  }

  liveImages(): string[] {
    return this.live().map((t) => t.Spec.ContainerSpec.Image).sort();
  }

  /** Slots with no running task. */
  down(): number {
    const up = new Set(this.live().map((t) => t.Slot));
    const n = this.service.Spec.Mode?.Replicated?.Replicas ?? 0;
    let d = 0;
    for (let s = 1; s <= n; s++) if (!up.has(s)) d++;
    return d;
  }
}

test('stop-first, parallelism 2: slots in order, two at a time, never more than two down, each once', () => {
  const sim = new Sim(spec('v1', { replicas: 6, update: { Parallelism: 2, Delay: 3 * S } }));
  assert.is(sim.live().length, 6);
  sim.update(spec('v2', { replicas: 6, update: { Parallelism: 2, Delay: 3 * S } }));
  let maxDown = 0;
  sim.run(() => (maxDown = Math.max(maxDown, sim.down())));
  assert.equal(sim.replaced, ['1', '2', '3', '4', '5', '6']);
  assert.is(maxDown, 2);
  assert.equal(sim.liveImages(), Array(6).fill('v2'));
  const st = sim.service.UpdateStatus!;
  assert.is(st.State, 'completed');
  assert.is(st.Message, 'update completed');
  assert.ok(Date.parse(st.CompletedAt!) > Date.parse(st.StartedAt!));
});

test('the delay holds the next batch back: batches start at least Delay apart', () => {
  const sim = new Sim(spec('v1', { replicas: 4, update: { Parallelism: 2, Delay: 10 * S } }));
  sim.update(spec('v2', { replicas: 4, update: { Parallelism: 2, Delay: 10 * S } }));
  const starts: number[] = [];
  sim.run(() => {
    const p = sim.plans.at(-1)!;
    if (p.create.length) starts.push(sim.now - 1000);
  });
  assert.is(starts.length, 2);
  assert.ok(starts[1] - starts[0] >= 10_000, `batches ${starts[1] - starts[0]} ms apart`);
  // While a delay runs, the plan says when to look again.
  assert.ok(sim.plans.some((p) => p.wakeAt !== undefined));
});

test('parallelism 0 replaces every slot at once', () => {
  const sim = new Sim(spec('v1', { replicas: 4, update: { Parallelism: 0 } }));
  sim.update(spec('v2', { replicas: 4, update: { Parallelism: 0 } }));
  sim.step();
  assert.is(sim.plans.at(-1)!.create.length, 4);
  sim.run();
  assert.equal(sim.liveImages(), Array(4).fill('v2'));
});

test('start-first never has fewer running tasks than replicas, and stops each old task after its replacement runs', () => {
  const sim = new Sim(spec('v1', { replicas: 3, update: { Parallelism: 2, Order: 'start-first' } }));
  sim.update(spec('v2', { replicas: 3, update: { Parallelism: 2, Order: 'start-first' } }));
  let least = Infinity;
  let most = 0;
  sim.run(() => {
    least = Math.min(least, sim.live().length);
    most = Math.max(most, sim.live().length);
  });
  assert.is(least, 3);
  assert.ok(most > 3, 'old and new ran side by side');
  assert.equal(sim.replaced, ['1', '2', '3']);
  assert.equal(sim.liveImages(), ['v2', 'v2', 'v2']);
});

test('a failing update pauses (default action) naming the task, and stays paused', () => {
  const sim = new Sim(spec('v1', { replicas: 3 }));
  sim.update(spec('bad', { replicas: 3 }));
  sim.run();
  const st = sim.service.UpdateStatus!;
  assert.is(st.State, 'paused');
  const failed = sim.tasks.find((t) => t.Status.State === 'failed')!;
  assert.is(st.Message, `update paused due to failure or early termination of task ${failed.ID}`);
  assert.equal(sim.replaced, ['1'], 'no slot after the failed one');
  for (let i = 0; i < 20; i++) sim.step();
  assert.equal(sim.replaced, ['1']);
  assert.is(sim.service.UpdateStatus!.State, 'paused');
});

test('a paused update resumes with the next service update', () => {
  const sim = new Sim(spec('v1', { replicas: 3 }));
  sim.update(spec('bad', { replicas: 3 }));
  sim.run();
  sim.update(spec('v3', { replicas: 3 }));
  sim.run();
  assert.is(sim.service.UpdateStatus!.State, 'completed');
  assert.equal(sim.liveImages(), ['v3', 'v3', 'v3']);
});

test('max failure ratio tolerates failures up to the ratio', () => {
  // 1 failure of 4 slots = 0.25 ≤ 0.3: goes on; the images fail only in slot 1's first try.
  const sim = new Sim(spec('v1', { replicas: 4, update: { MaxFailureRatio: 0.3 } }));
  sim.update(spec('v2', { replicas: 4, update: { MaxFailureRatio: 0.3 } }));
  let failedOnce = false;
  sim.run(() => {
    const t = sim.tasks.find((x) => x.Spec.ContainerSpec.Image === 'v2' && x.Status.State === 'assigned');
    if (t && !failedOnce) {
      failedOnce = true;
      t.Status = { ...t.Status, State: 'failed', Timestamp: new Date(sim.now).toISOString() };
    }
  });
  assert.ok(failedOnce);
  assert.is(sim.service.UpdateStatus!.State, 'completed');
  // With ratio 0.2 the same single failure pauses.
  const strict = new Sim(spec('v1', { replicas: 4, update: { MaxFailureRatio: 0.2 } }));
  strict.update(spec('bad', { replicas: 4, update: { MaxFailureRatio: 0.2 } }));
  strict.run();
  assert.is(strict.service.UpdateStatus!.State, 'paused');
});

test('failure action continue replaces every slot despite failures', () => {
  const sim = new Sim(spec('v1', { replicas: 3, update: { FailureAction: 'continue' } }));
  sim.update(spec('bad', { replicas: 3, update: { FailureAction: 'continue' } }));
  sim.run();
  assert.is(sim.service.UpdateStatus!.State, 'completed');
  assert.equal(sim.replaced.slice(0, 3), ['1', '2', '3']);
});

test('failure action rollback restores the previous spec with the rollback config, then completes', () => {
  const sim = new Sim(spec('v1', { replicas: 3 }));
  sim.update(spec('bad', { replicas: 3, update: { FailureAction: 'rollback' } }));
  const states: string[] = [];
  sim.run(() => {
    const s = sim.service.UpdateStatus?.State;
    if (s && states.at(-1) !== s) states.push(s);
  });
  assert.equal(states, ['updating', 'rollback_started', 'rollback_completed']);
  const failed = sim.tasks.find((t) => t.Status.State === 'failed')!;
  assert.is(sim.plans.find((p) => p.event === 'rollback')!.service!.UpdateStatus!.Message, `update rolled back due to failure or early termination of task ${failed.ID}`);
  assert.is(sim.service.UpdateStatus!.Message, 'rollback completed');
  assert.is(sim.service.Spec.TaskTemplate.ContainerSpec.Image, 'v1');
  assert.is(sim.service.PreviousSpec, undefined);
  for (let i = 0; i < 10; i++) sim.step();
  assert.equal(sim.liveImages(), ['v1', 'v1', 'v1']);
});

test('a manual rollback swaps Spec and PreviousSpec and rolls back slot by slot', () => {
  const sim = new Sim(spec('v1', { replicas: 3 }));
  sim.update(spec('v2', { replicas: 3 }));
  sim.run();
  const back = manualRollback(sim.service, sim.now)!;
  assert.is(back.UpdateStatus!.Message, 'manually requested rollback');
  assert.is(back.PreviousSpec!.TaskTemplate.ContainerSpec.Image, 'v2');
  sim.write(back);
  sim.replaced = [];
  sim.run();
  assert.is(sim.service.UpdateStatus!.State, 'rollback_completed');
  assert.equal(sim.replaced, ['1', '2', '3']);
  assert.equal(sim.liveImages(), ['v1', 'v1', 'v1']);
  assert.is(manualRollback({ ...sim.service, PreviousSpec: undefined }, 0), undefined);
});

test('a new leader resumes the update from the store: no slot is replaced twice', () => {
  const sim = new Sim(spec('v1', { replicas: 5, update: { Parallelism: 2, Delay: 2 * S } }));
  sim.update(spec('v2', { replicas: 5, update: { Parallelism: 2, Delay: 2 * S } }));
  for (let i = 0; i < 4; i++) sim.step();
  assert.ok(sim.replaced.length > 0 && sim.replaced.length < 5, 'mid-update');
  // The new leader knows nothing the store does not say.
  sim.upSince = new Map();
  sim.run();
  assert.equal(sim.replaced, ['1', '2', '3', '4', '5']);
  assert.is(sim.service.UpdateStatus!.State, 'completed');
});

test('global services update node by node', () => {
  const sim = new Sim(spec('v1', { global: true }));
  assert.is(sim.live().length, 3);
  sim.update(spec('v2', { global: true }));
  let most = 0;
  sim.run(() => (most = Math.max(most, 3 - sim.live().length)));
  assert.equal(sim.replaced, ['a', 'b', 'c']);
  assert.is(most, 1);
  assert.equal(sim.liveImages(), ['v2', 'v2', 'v2']);
});

test('a raised ForceUpdate makes every task out of date; replicas and labels do not', () => {
  const v1 = spec('v1', { replicas: 2 });
  const sim = new Sim(v1);
  const t = sim.live()[0];
  assert.not.ok(isTaskDirty(sim.service, t));
  assert.not.ok(isTaskDirty({ ...sim.service, Spec: { ...v1, Labels: { a: 'b' }, Mode: { Replicated: { Replicas: 9 } } } }, t));
  assert.ok(isTaskDirty({ ...sim.service, Spec: { ...v1, TaskTemplate: { ...v1.TaskTemplate, ForceUpdate: 1 } } }, t));
  assert.ok(isTaskDirty({ ...sim.service, Spec: { ...v1, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } } }, t));
});

test('a new service, or one whose tasks are up to date, starts no update', () => {
  const sim = new Sim(spec('v1', { replicas: 2 }));
  sim.step();
  assert.is(sim.service.UpdateStatus, undefined);
  const p = planUpdate(sim.service, [], { now: 0, newId: ids() });
  assert.equal([p.create.length, p.update.length, p.service], [0, 0, undefined]);
});

test('the orchestrator does not see the old task of a slot whose start-first replacement is on its way', () => {
  const v1: Service = { ID: 'web', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Spec: spec('v1') };
  const v2: Service = { ...v1, Version: { Index: 2 }, Spec: spec('v2') };
  const old = { ...newTask(v1, { slot: 1 }, { now: 0, newId: () => 'old' }), Status: { State: 'running' as const, Timestamp: '', Message: '' } };
  const fresh = newTask(v2, { slot: 1 }, { now: 1, newId: () => 'new' });
  assert.equal(tasksForOrchestrator(v2, [old, fresh]).map((t) => t.ID), ['new']);
  assert.equal(tasksForOrchestrator(v2, [old]).map((t) => t.ID), ['old']);
});

test.run();
