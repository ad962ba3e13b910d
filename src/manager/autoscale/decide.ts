/**
 * The autoscaler's decision for one service, pure: time comes in as `now`, usage as a
 * sample. Each tick every target the policy sets (CPU %, memory %, new connections per
 * second per task) gives a count (Kubernetes' rule: replicas × use / target, within ±10 %
 * no change) and the largest wins, clamped to [min, max] (as Kubernetes' HPA with several
 * metrics: a service shrinks only when every target allows it); recommendations
 * are kept for the stabilisation window, and the service is scaled only when the window
 * is full and every recommendation in it agrees: up to the smallest of them when all are
 * above the current count, down to the largest when all are below. Any change — ours or
 * a person's `service scale` — starts the cooldown and empties the window; a change not
 * made by the autoscaler becomes the new base it works from, never undone by reflex.
 */
import type { AutoscalePolicy } from '../../api/spec/autoscale-policy.ts';

/** What the autoscaler remembers of a service between ticks. */
export interface AutoscaleState {
  /** Replicas as the autoscaler last saw or set them. */
  base: number;
  /** When `base` last changed (by anyone), ms. */
  changedAt: number;
  /** When the current run of samples began (the window is full once it is `windowMs` old), ms. */
  observedSince?: number;
  /** Recommendations within the window, oldest first. */
  recs: { at: number; replicas: number }[];
}

/** One tick's measurement of a service; a figure absent was not measured (that target sits the tick out). */
export interface UsageSample {
  /** Mean CPU use of its running tasks, percent of each task's basis (limit, reservation or one CPU). */
  cpuPercent?: number;
  /** Mean memory working set of its running tasks, percent of each one's basis (limit, else reservation). */
  memoryPercent?: number;
  /** New TCP connections per second its tasks accepted, all tasks together (the policy's rps is per task). */
  rps?: number;
  /** Running tasks measured. */
  tasks: number;
}

/** One target's view of a sample: what it measured, the count it asks for, in words. */
export interface TargetView { metric: 'cpu' | 'memory' | 'rps'; replicas: number; text: string }

/** A change to make, with the reason recorded in the event. */
export interface ScaleDecision { replicas: number; reason: string }

/** Tolerance around the target within which nothing changes (Kubernetes' default). */
const TOLERANCE = 0.1;

/** The state for a service first seen with `replicas` at `now`. */
export function initialState(replicas: number, now: number): AutoscaleState {
  return { base: replicas, changedAt: now, recs: [] };
}

/** Replicas for a use/target ratio: unchanged within the tolerance, else `ceil(current × ratio)`. */
function proposal(current: number, ratio: number): number {
  return Math.abs(ratio - 1) <= TOLERANCE ? current : Math.ceil(current * ratio);
}

const fmt = (n: number): string => (n >= 10 || Number.isInteger(n) ? n.toFixed(0) : n.toFixed(1));

/**
 * What each target the policy sets and the sample measures asks for (unclamped), in the
 * order cpu, memory, rps. Pure.
 */
export function targetViews(p: AutoscalePolicy, current: number, s: UsageSample): TargetView[] {
  const out: TargetView[] = [];
  if (p.cpuPercent !== undefined && s.cpuPercent !== undefined) {
    out.push({ metric: 'cpu', replicas: proposal(current, s.cpuPercent / p.cpuPercent), text: `cpu ${fmt(s.cpuPercent)}% of target ${p.cpuPercent}%` });
  }
  if (p.memoryPercent !== undefined && s.memoryPercent !== undefined) {
    out.push({ metric: 'memory', replicas: proposal(current, s.memoryPercent / p.memoryPercent), text: `memory ${fmt(s.memoryPercent)}% of target ${p.memoryPercent}%` });
  }
  if (p.rps !== undefined && s.rps !== undefined && s.tasks > 0) {
    const perTask = s.rps / s.tasks;
    out.push({ metric: 'rps', replicas: proposal(current, perTask / p.rps), text: `rps ${fmt(perTask)} per task of target ${p.rps}` });
  }
  return out;
}

/** The replicas the use asks for: the largest any measured target asks for, within [min, max]; `current` when none is measured. Pure. */
export function recommend(p: AutoscalePolicy, current: number, s: UsageSample): number {
  const views = targetViews(p, current, s);
  const raw = views.length ? Math.max(...views.map((v) => v.replicas)) : current;
  return Math.min(p.max, Math.max(p.min, raw));
}

/** The reason's measurement part: the deciding target first, the others after it. */
function useText(p: AutoscalePolicy, current: number, s: UsageSample): string {
  const views = targetViews(p, current, s);
  if (!views.length) return 'no target measured';
  const top = views.reduce((a, v) => (v.replicas > a.replicas ? v : a));
  const rest = views.filter((v) => v !== top).map((v) => v.text);
  return rest.length ? `${top.text} (${rest.join(', ')})` : top.text;
}

const secs = (ms: number): string => `${Math.round(ms / 100) / 10}s`;

/**
 * One tick: the next state and, maybe, a change. `current` is the service's replicas now
 * (from the store); `sample` undefined when no running task could be measured.
 */
export function decide(p: AutoscalePolicy, state: AutoscaleState, current: number, sample: UsageSample | undefined, now: number): { state: AutoscaleState; decision?: ScaleDecision } {
  // A change the autoscaler did not make: the new base, a fresh window, the cooldown.
  if (current !== state.base) return { state: initialState(current, now) };
  // Out of bounds (bounds just changed, or a manual scale past them): back inside, at once.
  if (current < p.min || current > p.max) {
    const replicas = Math.min(p.max, Math.max(p.min, current));
    return { state: initialState(replicas, now), decision: { replicas, reason: `${current} replicas outside autoscale bounds ${p.min}-${p.max}` } };
  }
  if (!sample || sample.tasks === 0 || !targetViews(p, current, sample).length) return { state: { ...state, observedSince: undefined, recs: [] } };
  const observedSince = state.observedSince ?? now;
  const recs = [...state.recs.filter((r) => r.at > now - p.windowMs), { at: now, replicas: recommend(p, current, sample) }];
  const next: AutoscaleState = { ...state, observedSince, recs };
  if (now - state.changedAt < p.cooldownMs || now - observedSince < p.windowMs) return { state: next };
  const lowest = Math.min(...recs.map((r) => r.replicas));
  const highest = Math.max(...recs.map((r) => r.replicas));
  const use = useText(p, current, sample);
  if (lowest > current) {
    return { state: initialState(lowest, now), decision: { replicas: lowest, reason: `${use}: above target for ${secs(p.windowMs)}, ${current} -> ${lowest} replicas` } };
  }
  if (highest < current) {
    return { state: initialState(highest, now), decision: { replicas: highest, reason: `${use}: below target for ${secs(p.windowMs)}, ${current} -> ${highest} replicas` } };
  }
  return { state: next };
}
