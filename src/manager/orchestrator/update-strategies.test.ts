// Canary and blue-green updates, played against the orchestrator and a simulated agent on
// a manual clock (one step = orchestrator pass, updater pass, agent step, +1 s). Images
// named `bad…` exit 1 when started; `sick…` stay `starting` (a health check that never
// passes: a health-checked task is reported running only once healthy).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service, ServiceSpec, UpdateConfig } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { withServiceDefaults } from '../../api/spec/service-spec.ts';
import { ids } from '../testing/apply.ts';
import { node } from '../testing/fixtures.ts';
import { reconcileService } from './index.ts';
import { planUpdate, rollingStrategy, tasksForOrchestrator, type UpdateStrategy } from './updater.ts';
import { strategyFor } from './update-strategies.ts';

const S = 1e9;
const nodes = [node('a'), node('b'), node('c')];
const base: UpdateStrategy = {
  ...rollingStrategy,
  isUp: (t) => t.Status.State === 'running' && !t.Spec.ContainerSpec.Image.startsWith('sick') && (t.Status as { Health?: { Status: string } }).Health?.Status !== 'unhealthy',
};

function spec(image: string, labels: Record<string, string> = {}, o: { replicas?: number; update?: UpdateConfig } = {}): ServiceSpec {
  return withServiceDefaults({
    Name: 'web',
    Labels: labels,
    Mode: { Replicated: { Replicas: o.replicas ?? 5 } },
    TaskTemplate: { ContainerSpec: { Image: image } },
    UpdateConfig: { Parallelism: 1, Delay: 0, Monitor: 1 * S, ...o.update },
    RollbackConfig: { Parallelism: 0, Delay: 0, Monitor: 1 * S },
  });
}

const canary = (extra: Record<string, string> = {}) => ({ 'com.shoal.update.strategy': 'canary', 'com.shoal.update.canary.monitor': '5s', ...extra });

class Sim {
  now = 1_000_000;
  tasks: Task[] = [];
  upSince = new Map<string, number>();
  service: Service;
  created: { at: number; image: string }[] = [];
  stopped: { at: number; id: string }[] = [];
  private newId = ids('t');
  private rr = 0;

  constructor(first: ServiceSpec) {
    this.service = { ID: 'web', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Spec: first };
    for (let i = 0; i < 5; i++) this.step(false);
  }

  update(next: ServiceSpec): void {
    this.service = { ...this.service, PreviousSpec: this.service.Spec, Spec: next, UpdateStatus: undefined };
  }

  step(updater = true): void {
    const ctx = { now: this.now, newId: this.newId };
    const r = reconcileService(this.service, tasksForOrchestrator(this.service, this.tasks), nodes, ctx);
    this.apply(r.create, r.update);
    if (updater) {
      const p = planUpdate(this.service, this.tasks, { ...ctx, upSince: this.upSince, strategy: base });
      this.apply(p.create, p.update);
      for (const t of p.create) this.created.push({ at: this.now, image: t.Spec.ContainerSpec.Image });
      for (const t of p.update) this.stopped.push({ at: this.now, id: t.ID });
      if (p.service) this.service = p.service;
    }
    this.agent();
    this.now += 1000;
  }

  private apply(create: Task[], update: Task[]): void {
    const upd = new Map(update.map((t) => [t.ID, t]));
    this.tasks = [...this.tasks.map((t) => upd.get(t.ID) ?? t), ...create];
  }

  private agent(): void {
    const at = new Date(this.now).toISOString();
    this.tasks = this.tasks.map((t) => {
      const set = (State: Task['Status']['State']) => ({ ...t, Status: { ...t.Status, State, Timestamp: at } });
      if (['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned'].includes(t.Status.State)) return t;
      if (t.DesiredState === 'ready') return t; // a restart waiting for its delay
      if (t.DesiredState !== 'running') return set('shutdown');
      if (t.Status.State === 'new') return { ...set('assigned'), NodeID: t.NodeID ?? nodes[this.rr++ % nodes.length].ID };
      if (t.Status.State === 'assigned') {
        if (t.Spec.ContainerSpec.Image.startsWith('bad')) return set('failed');
        if (t.Spec.ContainerSpec.Image.startsWith('sick')) return set('starting'); // its health check never passes
        this.upSince.set(t.ID, this.now);
        return set('running');
      }
      return t;
    });
  }

  /** Steps until `until` holds (at most `max` steps); returns the steps taken. */
  runUntil(until: () => boolean, max = 200): number {
    for (let i = 1; i <= max; i++) {
      this.step();
      if (until()) return i;
    }
    assert.unreachable(`not reached: ${JSON.stringify(this.service.UpdateStatus)}`);
    return max;
  }

  state(): string | undefined {
    return this.service.UpdateStatus?.State;
  }

  liveImages(): string[] {
    return this.tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running').map((t) => t.Spec.ContainerSpec.Image).sort();
  }
}

test('strategyFor: labels pick the strategy; a rollback always follows the base', () => {
  const svc = (labels: Record<string, string>, state?: 'rollback_started'): Service => ({ ID: 'x', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Spec: spec('v1', labels), ...(state ? { UpdateStatus: { State: state, Message: '' } } : {}) });
  assert.is(strategyFor(svc({})).name, 'rolling');
  assert.is(strategyFor(svc(canary())).name, 'canary');
  assert.is(strategyFor(svc({ 'com.shoal.update.strategy': 'blue-green' })).name, 'blue-green');
  assert.is(strategyFor(svc(canary(), 'rollback_started')).name, 'rolling');
  assert.is(strategyFor(svc({ 'com.shoal.update.strategy': 'nonsense' })).name, 'rolling', 'bad labels (refused by the API) fall back');
});

test('canary: one slot replaced, held for its window, then promoted and the update finishes', () => {
  const sim = new Sim(spec('v1', canary()));
  sim.update(spec('v2', canary()));
  sim.runUntil(() => sim.created.length === 1);
  const firstAt = sim.created[0].at;
  // Held: nothing else is replaced while the canary's window runs.
  sim.runUntil(() => sim.service.UpdateStatus?.ShoalCanary === 'promoted');
  assert.is(sim.created.length, 1, 'only the canary during the hold');
  const promotedAt = sim.now;
  assert.ok(promotedAt - firstAt >= 5000, `promoted ${promotedAt - firstAt} ms after the canary started (window 5 s)`);
  sim.runUntil(() => sim.state() === 'completed');
  assert.equal(sim.liveImages(), Array(5).fill('v2'));
  assert.is(sim.created.length, 5, 'each slot replaced once');
});

test('canary: a failing canary rolls back by itself, whatever the failure action', () => {
  const labels = canary();
  const sim = new Sim(spec('v1', labels, { update: { FailureAction: 'pause' } }));
  sim.update(spec('bad', labels, { update: { FailureAction: 'pause' } }));
  sim.runUntil(() => sim.state() === 'rollback_started');
  assert.match(sim.service.UpdateStatus!.Message, /update rolled back due to failure or early termination of task/);
  assert.is(sim.service.Spec.TaskTemplate.ContainerSpec.Image, 'v1');
  sim.runUntil(() => sim.state() === 'rollback_completed');
  assert.equal(sim.liveImages(), Array(5).fill('v1'));
  assert.is(sim.created.filter((c) => c.image === 'bad').length, 1, 'only the canary was tried');
});

test('canary: a canary that never comes up holds the update (no promotion, the old tasks keep serving)', () => {
  const labels = canary({ 'com.shoal.update.canary.replicas': '2' });
  const sim = new Sim(spec('v1', labels, { update: { Order: 'start-first' } }));
  sim.update(spec('sick', labels, { update: { Order: 'start-first' } }));
  for (let i = 0; i < 30; i++) sim.step();
  assert.is(sim.state(), 'updating');
  assert.is(sim.service.UpdateStatus!.ShoalCanary, undefined);
  assert.is(sim.liveImages().filter((i) => i === 'v1').length, 5, 'start-first: every old task still runs');
});

test('canary: a canary that came up and is no longer up at the end of its window rolls back', () => {
  const labels = canary({ 'com.shoal.update.canary.monitor': '10s' });
  const sim = new Sim(spec('v1', labels, { update: { Order: 'start-first' } }));
  sim.update(spec('v2', labels, { update: { Order: 'start-first' } }));
  sim.runUntil(() => sim.tasks.some((t) => t.Spec.ContainerSpec.Image === 'v2' && t.Status.State === 'running'));
  // Its health turns bad while it still runs (the base strategy sees it as not up).
  sim.tasks = sim.tasks.map((t) => (t.Spec.ContainerSpec.Image === 'v2' ? { ...t, Spec: { ...t.Spec, ContainerSpec: { ...t.Spec.ContainerSpec } }, Status: { ...t.Status, Health: { Status: 'unhealthy', FailingStreak: 3 } } } as Task : t));
  sim.runUntil(() => sim.state() === 'rollback_started');
  assert.match(sim.service.UpdateStatus!.Message, /canary task .* was not up at the end of its monitor window/);
});

test('canary with auto=rollback: healthy canaries hold until promoted by hand', () => {
  const labels = canary({ 'com.shoal.update.canary.auto': 'rollback', 'com.shoal.update.canary.replicas': '2' });
  const sim = new Sim(spec('v1', labels));
  sim.update(spec('v2', labels));
  for (let i = 0; i < 30; i++) sim.step();
  assert.is(sim.state(), 'updating');
  assert.is(sim.created.length, 2, 'two canaries, then a hold');
  sim.service = { ...sim.service, UpdateStatus: { ...sim.service.UpdateStatus!, ShoalCanary: 'promoted' } };
  sim.runUntil(() => sim.state() === 'completed');
  assert.equal(sim.liveImages(), Array(5).fill('v2'));
});

test('canary: a tolerated failure ratio lets a flaky canary set promote', () => {
  // The window outlasts the restart delay (5 s), so the restarted canary is up at its end.
  const labels = canary({ 'com.shoal.update.canary.replicas': '2', 'com.shoal.update.canary.max-failure-ratio': '0.5', 'com.shoal.update.canary.monitor': '20s' });
  const sim = new Sim(spec('v1', labels));
  sim.update(spec('v2', labels));
  // One canary fails once (its task dies); the orchestrator restarts it as v2.
  sim.runUntil(() => sim.created.length === 2 && sim.tasks.some((t) => t.Spec.ContainerSpec.Image === 'v2' && t.Status.State === 'running'));
  const victim = sim.tasks.find((t) => t.Spec.ContainerSpec.Image === 'v2' && t.Status.State === 'running')!;
  sim.tasks = sim.tasks.map((t) => (t.ID === victim.ID ? { ...t, Status: { ...t.Status, State: 'failed', Timestamp: new Date(sim.now).toISOString() } } : t));
  sim.runUntil(() => sim.service.UpdateStatus?.ShoalCanary === 'promoted');
  assert.is(sim.state(), 'updating');
});

test('blue-green: every slot started at once; no old task stops before all new ones are up, then all stop in one pass', () => {
  const labels = { 'com.shoal.update.strategy': 'blue-green' };
  const sim = new Sim(spec('v1', labels, { update: { Parallelism: 1, Order: 'stop-first' } }));
  const oldIds = new Set(sim.tasks.filter((t) => t.DesiredState === 'running').map((t) => t.ID));
  sim.update(spec('v2', labels, { update: { Parallelism: 1, Order: 'stop-first' } }));
  sim.runUntil(() => sim.state() === 'completed');
  assert.is(new Set(sim.created.map((c) => c.at)).size, 1, 'one batch, whatever Parallelism says');
  assert.is(sim.created.length, 5);
  const oldStops = sim.stopped.filter((s) => oldIds.has(s.id));
  assert.is(oldStops.length, 5);
  assert.is(new Set(oldStops.map((s) => s.at)).size, 1, 'the old set stops in one pass');
  assert.ok(oldStops[0].at > sim.created[0].at, 'after the new set came up');
  assert.equal(sim.liveImages(), Array(5).fill('v2'));
});

test('blue-green: a new set that never gets healthy keeps the old set serving', () => {
  const labels = { 'com.shoal.update.strategy': 'blue-green' };
  const sim = new Sim(spec('v1', labels));
  sim.update(spec('sick', labels));
  for (let i = 0; i < 20; i++) sim.step();
  assert.is(sim.state(), 'updating');
  assert.is(sim.liveImages().filter((i) => i === 'v1').length, 5, 'every old task still runs');
});

test.run();
