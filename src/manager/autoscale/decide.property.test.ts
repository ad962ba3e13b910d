// Property tests (fast-check) of `decide` with CPU, memory and connection-rate targets:
// random policies, random runs of samples and manual scales, one tick a second; the
// invariants below must hold for every run. A failure prints the seed and the shrunk run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { decide, initialState, recommend, type UsageSample } from './decide.ts';
import type { AutoscalePolicy } from '../../api/spec/autoscale-policy.ts';

/** A policy with at least one of the three targets. */
const policyArb: fc.Arbitrary<AutoscalePolicy> = fc.record({
  min: fc.integer({ min: 1, max: 5 }),
  span: fc.integer({ min: 0, max: 10 }),
  cpu: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
  memory: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
  rps: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
  windowS: fc.integer({ min: 1, max: 20 }),
  cooldownS: fc.integer({ min: 1, max: 20 }),
}).filter((r) => r.cpu !== undefined || r.memory !== undefined || r.rps !== undefined).map((r) => ({
  min: r.min, max: r.min + r.span,
  ...(r.cpu !== undefined ? { cpuPercent: r.cpu } : {}),
  ...(r.memory !== undefined ? { memoryPercent: r.memory } : {}),
  ...(r.rps !== undefined ? { rps: r.rps } : {}),
  windowMs: r.windowS * 1000, cooldownMs: r.cooldownS * 1000,
}));

/** Use as a multiple of a target (0 = idle, 3 = three times the target), or not measured. */
const useArb = fc.option(fc.double({ min: 0, max: 4, noNaN: true }), { nil: undefined });

/** One tick: a sample (each figure a multiple of its target), or a person's `service scale`. */
type Step = { kind: 'sample'; cpu?: number; memory?: number; rps?: number; gap: boolean } | { kind: 'manual'; replicas: number };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('sample' as const), cpu: useArb, memory: useArb, rps: useArb, gap: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('manual' as const), replicas: fc.integer({ min: 1, max: 20 }) }) },
);

/** The sample a step gives a service of `tasks` running tasks under `p`. */
function sampleOf(p: AutoscalePolicy, step: Extract<Step, { kind: 'sample' }>, tasks: number): UsageSample | undefined {
  if (step.gap) return undefined;
  return {
    tasks,
    ...(step.cpu !== undefined ? { cpuPercent: step.cpu * (p.cpuPercent ?? 70) } : {}),
    ...(step.memory !== undefined ? { memoryPercent: step.memory * (p.memoryPercent ?? 80) } : {}),
    ...(step.rps !== undefined ? { rps: step.rps * (p.rps ?? 50) * tasks } : {}),
  };
}

interface Tick { at: number; current: number; sample?: UsageSample; manual: boolean; decision?: { replicas: number; reason: string } }

/** Drives `decide` a tick a second from t = 100 s; returns what happened at each tick. */
function drive(p: AutoscalePolicy, start: number, steps: Step[]): Tick[] {
  let state = initialState(start, 0);
  let current = start;
  const out: Tick[] = [];
  steps.forEach((step, i) => {
    const at = 100_000 + i * 1000;
    let manual = false;
    // A scale to the count already running changes nothing, so it starts no cooldown.
    if (step.kind === 'manual') { manual = step.replicas !== current; current = step.replicas; }
    const sample = step.kind === 'sample' ? sampleOf(p, step, current) : undefined;
    const r = decide(p, state, current, sample, at);
    out.push({ at, current, sample, manual, decision: r.decision });
    state = r.state;
    if (r.decision) current = r.decision.replicas;
  });
  return out;
}

const inBounds = (p: AutoscalePolicy, n: number): boolean => n >= p.min && n <= p.max;
/** Runs of steps, each held for 1–15 ticks (load holds a while, so windows fill and decisions happen). */
const stepsArb = fc.array(fc.tuple(stepArb, fc.integer({ min: 1, max: 15 })), { maxLength: 20 })
  .map((runs) => runs.flatMap(([step, n]): Step[] => (step.kind === 'manual' ? [step] : Array.from({ length: n }, () => step))));
const runArb = fc.tuple(policyArb, fc.integer({ min: 1, max: 20 }), stepsArb);

test('every decision lands within [min, max] and changes the count', () => {
  fc.assert(fc.property(runArb, ([p, start, steps]) => {
    for (const t of drive(p, start, steps)) {
      if (!t.decision) continue;
      assert.ok(inBounds(p, t.decision.replicas), `decision ${t.decision.replicas} outside ${p.min}-${p.max}`);
      assert.is.not(t.decision.replicas, t.current);
    }
  }));
});

test('inside the bounds, no change within the cooldown or before a full window after any change, manual ones included', () => {
  fc.assert(fc.property(runArb, ([p, start, steps]) => {
    let changedAt = 0;
    let firstSample: number | undefined;
    for (const t of drive(p, start, steps)) {
      if (t.manual) { changedAt = t.at; firstSample = undefined; }
      if (t.sample && firstSample === undefined) firstSample = t.at;
      if (!t.sample) firstSample = undefined;
      if (t.decision && inBounds(p, t.current)) {
        assert.ok(t.at - changedAt >= p.cooldownMs, `changed ${t.at - changedAt} ms after the last change (cooldown ${p.cooldownMs})`);
        assert.ok(firstSample !== undefined && t.at - firstSample >= p.windowMs, `changed before a full window of samples`);
      }
      if (t.decision) { changedAt = t.at; firstSample = undefined; }
    }
  }));
});

test('the service never grows while every target is met, and never shrinks while any is exceeded beyond the tolerance', () => {
  // Use held at or below each target: any change is a shrink. Above 1.1 × a target throughout: any change is a growth.
  const calm = fc.record({ kind: fc.constant('sample' as const), cpu: fc.double({ min: 0, max: 1, noNaN: true }), memory: fc.double({ min: 0, max: 1, noNaN: true }), rps: fc.double({ min: 0, max: 1, noNaN: true }), gap: fc.constant(false) });
  fc.assert(fc.property(policyArb, fc.array(calm, { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 20 }), (p, steps, start) => {
    for (const t of drive(p, start, steps)) if (t.decision && inBounds(p, t.current)) assert.ok(t.decision.replicas < t.current, `grew at ${JSON.stringify(t.sample)}`);
  }));
  const hot = fc.record({ kind: fc.constant('sample' as const), cpu: fc.double({ min: 1.2, max: 4, noNaN: true }), memory: fc.double({ min: 1.2, max: 4, noNaN: true }), rps: fc.double({ min: 1.2, max: 4, noNaN: true }), gap: fc.constant(false) });
  fc.assert(fc.property(policyArb, fc.array(hot, { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 20 }), (p, steps, start) => {
    for (const t of drive(p, start, steps)) if (t.decision && inBounds(p, t.current)) assert.ok(t.decision.replicas > t.current, `shrank at ${JSON.stringify(t.sample)}`);
  }));
});

test('a shrink only when every measured target is within its tolerance or below, a growth only when one is above', () => {
  fc.assert(fc.property(runArb, ([p, start, steps]) => {
    for (const t of drive(p, start, steps)) {
      if (!t.decision || !inBounds(p, t.current) || !t.sample) continue;
      const s = t.sample;
      const ratios = [
        p.cpuPercent !== undefined && s.cpuPercent !== undefined ? s.cpuPercent / p.cpuPercent : undefined,
        p.memoryPercent !== undefined && s.memoryPercent !== undefined ? s.memoryPercent / p.memoryPercent : undefined,
        p.rps !== undefined && s.rps !== undefined ? s.rps / s.tasks / p.rps : undefined,
      ].filter((r) => r !== undefined);
      if (t.decision.replicas < t.current) assert.ok(ratios.every((r) => r <= 1.1 + 1e-9), `shrank with use/target ${ratios.join(', ')}`);
      else assert.ok(ratios.some((r) => r > 1), `grew with use/target ${ratios.join(', ')}`);
    }
  }));
});

test('with several targets the recommendation is the largest single-target one', () => {
  fc.assert(fc.property(policyArb, fc.integer({ min: 1, max: 20 }), useArb, useArb, useArb, (p, current, cpu, memory, rps) => {
    const s = sampleOf(p, { kind: 'sample', cpu, memory, rps, gap: false }, current)!;
    const singles = [
      p.cpuPercent !== undefined && s.cpuPercent !== undefined ? { cpuPercent: p.cpuPercent } : undefined,
      p.memoryPercent !== undefined && s.memoryPercent !== undefined ? { memoryPercent: p.memoryPercent } : undefined,
      p.rps !== undefined && s.rps !== undefined ? { rps: p.rps } : undefined,
    ].filter((x) => x !== undefined).map((t) => recommend({ min: p.min, max: p.max, windowMs: p.windowMs, cooldownMs: p.cooldownMs, ...t }, current, s));
    const expected = singles.length ? Math.max(...singles) : Math.min(p.max, Math.max(p.min, current));
    assert.is(recommend(p, current, s), expected);
  }));
});

test('every decision names what it measured', () => {
  fc.assert(fc.property(runArb, ([p, start, steps]) => {
    for (const t of drive(p, start, steps)) {
      if (!t.decision) continue;
      assert.match(t.decision.reason, inBounds(p, t.current) ? /^(cpu|memory|rps) .* target .*: (above|below) target for [\d.]+s, \d+ -> \d+ replicas$/ : /outside autoscale bounds/);
    }
  }));
});

test.run();
