import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decide, initialState, recommend, type AutoscaleState, type UsageSample } from './decide.ts';
import { autoscalePolicyOf, autoscaleLabels, AutoscalePolicyError, type AutoscalePolicy } from '../../api/spec/autoscale-policy.ts';
import { validateServiceSpec } from '../../api/spec/service-spec.ts';
import { InvalidArgumentError } from '../../api/errors.ts';
import type { ServiceSpec } from '../../api/types/service.ts';

const policy: AutoscalePolicy = { min: 2, max: 10, cpuPercent: 70, windowMs: 10_000, cooldownMs: 20_000 };

/** Runs ticks every second from `from` with the same sample; returns the decisions and final state. */
function run(state: AutoscaleState, current: number, sample: UsageSample | undefined, from: number, seconds: number) {
  const decisions: { at: number; replicas: number; reason: string }[] = [];
  for (let t = from; t <= from + seconds * 1000; t += 1000) {
    const r = decide(policy, state, current, sample, t);
    state = r.state;
    if (r.decision) { decisions.push({ at: t, ...r.decision }); current = r.decision.replicas; }
  }
  return { decisions, state, current };
}

test('recommendation follows use over target, with a tolerance, inside the bounds', () => {
  assert.is(recommend(policy, 2, { cpuPercent: 140, tasks: 2 }), 4);
  assert.is(recommend(policy, 4, { cpuPercent: 74, tasks: 4 }), 4, 'within 10 %: no change');
  assert.is(recommend(policy, 4, { cpuPercent: 5, tasks: 4 }), 2, 'never below min');
  assert.is(recommend(policy, 8, { cpuPercent: 700, tasks: 8 }), 10, 'never above max');
});

test('several targets: the largest count any asks for wins; a target not measured sits out', () => {
  const all: AutoscalePolicy = { ...policy, memoryPercent: 80, rps: 50 };
  assert.is(recommend(all, 2, { cpuPercent: 70, memoryPercent: 160, rps: 100, tasks: 2 }), 4, 'memory asks for 4, cpu and rps for 2');
  assert.is(recommend(all, 2, { cpuPercent: 10, memoryPercent: 10, rps: 300, tasks: 2 }), 6, 'rps 150 per task of 50: 6');
  assert.is(recommend(all, 6, { cpuPercent: 10, memoryPercent: 80, rps: 0, tasks: 6 }), 6, 'memory at target holds the count although cpu and rps are idle');
  assert.is(recommend(all, 6, { cpuPercent: 10, memoryPercent: 10, rps: 0, tasks: 6 }), 2, 'all idle: down to min');
  assert.is(recommend({ ...policy, cpuPercent: undefined, rps: 50 }, 4, { cpuPercent: 900, tasks: 4 }), 4, 'cpu is no target here; rps unmeasured: no change');
});

test('a memory target alone grows the service and says so in the reason', () => {
  const mem: AutoscalePolicy = { min: 1, max: 5, memoryPercent: 50, windowMs: 3000, cooldownMs: 3000 };
  let state = initialState(1, 0);
  let decision;
  for (let t = 10_000; t <= 14_000 && !decision; t += 1000) ({ state, decision } = decide(mem, state, 1, { cpuPercent: 1, memoryPercent: 90, tasks: 1 }, t));
  assert.equal(decision?.replicas, 2);
  assert.match(decision!.reason, /^memory 90% of target 50%: above target for 3s, 1 -> 2 replicas$/);
  const none = decide(mem, initialState(1, 0), 1, { cpuPercent: 99, tasks: 1 }, 50_000);
  assert.is(none.state.recs.length, 0, 'no memory measured: the window stays empty');
});

test('sustained load scales up once the window is full and the cooldown over, to the lowest recommendation', () => {
  const { decisions } = run(initialState(2, 0), 2, { cpuPercent: 200, tasks: 2 }, 25_000, 15);
  assert.is(decisions.length, 1);
  assert.is(decisions[0].at, 35_000, 'window of 10 s from the first sample at 25 s');
  assert.is(decisions[0].replicas, 6);
  assert.match(decisions[0].reason, /cpu 200% of target 70%: above target for 10s, 2 -> 6 replicas/);
});

test('a short spike inside the window changes nothing', () => {
  let state = initialState(4, 0);
  for (let t = 30_000; t <= 50_000; t += 1000) {
    const spike = t >= 40_000 && t < 43_000;
    const r = decide(policy, state, 4, { cpuPercent: spike ? 300 : 70, tasks: 4 }, t);
    assert.is(r.decision, undefined, `tick ${t}`);
    state = r.state;
  }
});

test('after load stops the service shrinks to min, one stabilised step at a time, honouring the cooldown', () => {
  const { decisions } = run(initialState(6, 0), 6, { cpuPercent: 1, tasks: 6 }, 30_000, 60);
  assert.equal(decisions.map((d) => d.replicas), [2]);
  assert.match(decisions[0].reason, /below target/);
});

test('a manual scale becomes the new base and is not undone before window and cooldown pass', () => {
  let { state } = run(initialState(4, 0), 4, { cpuPercent: 70, tasks: 4 }, 30_000, 5);
  const manual = decide(policy, state, 8, { cpuPercent: 35, tasks: 8 }, 36_000);
  assert.is(manual.decision, undefined);
  assert.is(manual.state.base, 8);
  state = manual.state;
  const soon = run(state, 8, { cpuPercent: 35, tasks: 8 }, 37_000, 15);
  assert.is(soon.decisions.length, 0, 'cooldown after the manual change');
  const later = run(soon.state, 8, { cpuPercent: 35, tasks: 8 }, 53_000, 10);
  assert.equal(later.decisions.map((d) => d.replicas), [4]);
});

test('replicas outside new bounds move inside at once; no sample keeps the window empty', () => {
  const r = decide(policy, initialState(1, 0), 1, undefined, 1000);
  assert.equal(r.decision?.replicas, 2);
  const none = run(initialState(4, 0), 4, undefined, 30_000, 30);
  assert.is(none.decisions.length, 0);
  assert.is(none.state.recs.length, 0);
});

test('the policy comes from com.shoal.autoscale.* labels; bad ones are refused by name', () => {
  assert.is(autoscalePolicyOf({ other: 'x' }), undefined);
  const p = autoscalePolicyOf({ 'com.shoal.autoscale.min': '2', 'com.shoal.autoscale.max': '10', 'com.shoal.autoscale.cpu': '70' })!;
  assert.equal(p, { min: 2, max: 10, cpuPercent: 70, windowMs: 30_000, cooldownMs: 30_000 });
  assert.equal(autoscalePolicyOf(autoscaleLabels({ ...p, windowMs: 5000 })), { ...p, windowMs: 5000 });
  const bad = (labels: Record<string, string>, re: RegExp) => {
    try { autoscalePolicyOf(labels); assert.unreachable('accepted'); } catch (e) { assert.instance(e, AutoscalePolicyError); assert.match((e as Error).message, re); }
  };
  bad({ 'com.shoal.autoscale.min': '2', 'com.shoal.autoscale.max': '10' }, /a target is required: com\.shoal\.autoscale\.cpu, com\.shoal\.autoscale\.memory or com\.shoal\.autoscale\.rps/);
  bad({ 'com.shoal.autoscale.min': '5', 'com.shoal.autoscale.max': '3', 'com.shoal.autoscale.cpu': '70' }, /max: 3 is below/);
  bad({ 'com.shoal.autoscale.min': '1', 'com.shoal.autoscale.max': '3', 'com.shoal.autoscale.requests': '100' }, /requests: unknown autoscale setting \(known: min, max, cpu, memory, rps, window, cooldown\)/);
  bad({ 'com.shoal.autoscale.min': '1', 'com.shoal.autoscale.max': '3', 'com.shoal.autoscale.memory': '120' }, /memory: "120" must be a whole number from 1 to 100/);
  bad({ 'com.shoal.autoscale.min': '1', 'com.shoal.autoscale.max': '3', 'com.shoal.autoscale.rps': '0' }, /rps: "0" must be a whole number from 1 to 1000000/);
  const three = autoscalePolicyOf({ 'com.shoal.autoscale.min': '1', 'com.shoal.autoscale.max': '3', 'com.shoal.autoscale.memory': '80', 'com.shoal.autoscale.rps': '50' })!;
  assert.equal(three, { min: 1, max: 3, memoryPercent: 80, rps: 50, windowMs: 30_000, cooldownMs: 30_000 });
  assert.equal(autoscalePolicyOf(autoscaleLabels(three)), three, 'labels round-trip without a cpu target');
  bad({ 'com.shoal.autoscale.min': '1', 'com.shoal.autoscale.max': '3', 'com.shoal.autoscale.cpu': '70', 'com.shoal.autoscale.window': 'soon' }, /window: "soon"/);
  bad({ 'com.shoal.autoscale.min': '0', 'com.shoal.autoscale.max': '3', 'com.shoal.autoscale.cpu': '70' }, /min: "0"/);
});

test('the API refuses (400) a memory target without a memory limit or reservation, and a global service', () => {
  const spec = (labels: Record<string, string>, mode: ServiceSpec['Mode'] = { Replicated: { Replicas: 1 } }, resources?: ServiceSpec['TaskTemplate']['Resources']): ServiceSpec =>
    ({ Name: 'web', Labels: labels, Mode: mode, TaskTemplate: { ContainerSpec: { Image: 'busybox' }, ...(resources ? { Resources: resources } : {}) } });
  const refused = (s: ServiceSpec, re: RegExp) => {
    try { validateServiceSpec(s); assert.unreachable('accepted'); } catch (e) { assert.instance(e, InvalidArgumentError); assert.is((e as InvalidArgumentError).status, 400); assert.match((e as Error).message, re); }
  };
  const ok = { 'com.shoal.autoscale.min': '1', 'com.shoal.autoscale.max': '3', 'com.shoal.autoscale.cpu': '70' };
  validateServiceSpec(spec(ok));
  validateServiceSpec(spec({ ...ok, 'com.shoal.autoscale.rps': '100' }));
  refused(spec({ ...ok, 'com.shoal.autoscale.memory': '80' }), /Labels: com\.shoal\.autoscale\.memory: the service has no memory limit or reservation to measure against/);
  validateServiceSpec(spec({ ...ok, 'com.shoal.autoscale.memory': '80' }, undefined, { Limits: { MemoryBytes: 64 << 20 } }));
  validateServiceSpec(spec({ ...ok, 'com.shoal.autoscale.memory': '80' }, undefined, { Reservations: { MemoryBytes: 32 << 20 } }));
  refused(spec({ ...ok, 'com.shoal.autoscale.foo': '1' }), /Labels: com\.shoal\.autoscale\.foo: unknown autoscale setting/);
  refused(spec(ok, { Global: {} }), /only replicated services are autoscaled/);
});

test.run();
