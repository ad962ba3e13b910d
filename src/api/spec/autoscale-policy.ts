/**
 * Shoal's autoscaling (beyond Swarm, moby#32054), carried in a replicated service's
 * labels under `com.shoal.autoscale.*`, for the reason `update-policy.ts` gives (the stock
 * docker CLI round-trips `Spec.Labels` whole and would drop an unknown spec field):
 *
 *   com.shoal.autoscale.min       fewest replicas, ≥ 1 (required)
 *   com.shoal.autoscale.max       most replicas, ≥ min, ≤ 10,000 (required)
 *   com.shoal.autoscale.cpu       target CPU use per task, % of its CPU limit (else its
 *                                 reservation, else one CPU), 1–1000
 *   com.shoal.autoscale.memory    target memory working set per task, % of its memory
 *                                 limit (else its reservation; a service with neither is
 *                                 refused), 1–100
 *   com.shoal.autoscale.rps       target new TCP connections per second per task (those its
 *                                 tasks accept, through the VIP, the mesh or directly),
 *                                 1–1,000,000
 *   com.shoal.autoscale.window    stabilisation window, Go duration (default 30s): a change
 *                                 is made only when every recommendation in it agrees
 *   com.shoal.autoscale.cooldown  no change for this long after any change, manual ones
 *                                 included (default 30s)
 *
 * At least one target (cpu, memory, rps) is required; with several, the largest replica
 * count any of them asks for wins (as Kubernetes' HPA). Pure. A bad value, a missing
 * required key, or any other `com.shoal.autoscale.*` key is an {@link AutoscalePolicyError}
 * naming the label; the API maps it to 400.
 */
import { formatPolicyDuration, parsePolicyDuration } from './update-policy.ts';

/** Label prefix of the extension. */
export const AUTOSCALE_PREFIX = 'com.shoal.autoscale.';

/** The labels, by what they set. */
export const AUTOSCALE_LABELS = {
  min: 'com.shoal.autoscale.min',
  max: 'com.shoal.autoscale.max',
  cpu: 'com.shoal.autoscale.cpu',
  memory: 'com.shoal.autoscale.memory',
  rps: 'com.shoal.autoscale.rps',
  window: 'com.shoal.autoscale.window',
  cooldown: 'com.shoal.autoscale.cooldown',
} as const;

/** A service's autoscaling policy. */
export interface AutoscalePolicy {
  min: number;
  max: number;
  /** Target CPU use per task, percent of its basis (limit, else reservation, else one CPU); absent: not a target. */
  cpuPercent?: number;
  /** Target memory working set per task, percent of its limit (else reservation); absent: not a target. */
  memoryPercent?: number;
  /** Target new TCP connections per second per task (accepted by the service's tasks); absent: not a target. */
  rps?: number;
  /** Stabilisation window, ms. Default 30,000. */
  windowMs: number;
  /** Quiet time after any change, ms. Default 30,000. */
  cooldownMs: number;
}

/** A `com.shoal.autoscale.*` label Shoal cannot honour (400 at the API). */
export class AutoscalePolicyError extends Error {
  override readonly name = 'AutoscalePolicyError';
  readonly retryable = false;
}

const DEFAULT_WINDOW_MS = 30_000;
const DEFAULT_COOLDOWN_MS = 30_000;
const MAX_REPLICAS = 10_000;

function intLabel(labels: Record<string, string>, key: string, lo: number, hi: number): number {
  const v = labels[key];
  if (v === undefined) throw new AutoscalePolicyError(`${key} is required when any ${AUTOSCALE_PREFIX}* label is set`);
  if (!/^\d+$/.test(v.trim()) || Number(v) < lo || Number(v) > hi) throw new AutoscalePolicyError(`${key}: "${v}" must be a whole number from ${lo} to ${hi}`);
  return Number(v);
}

function optionalInt(labels: Record<string, string>, key: string, lo: number, hi: number): number | undefined {
  return labels[key] === undefined ? undefined : intLabel(labels, key, lo, hi);
}

function durationLabel(labels: Record<string, string>, key: string, dflt: number): number {
  const v = labels[key];
  if (v === undefined) return dflt;
  const ms = parsePolicyDuration(v);
  if (ms === undefined || ms < 1000 || ms > 24 * 3600_000) throw new AutoscalePolicyError(`${key}: "${v}" must be a duration from 1s to 24h (such as 30s or 2m)`);
  return ms;
}

/** The policy the labels set; undefined when no `com.shoal.autoscale.*` label is there. Throws {@link AutoscalePolicyError}. */
export function autoscalePolicyOf(labels: Record<string, string> | undefined): AutoscalePolicy | undefined {
  const l = labels ?? {};
  const keys = Object.keys(l).filter((k) => k.startsWith(AUTOSCALE_PREFIX));
  if (!keys.length) return undefined;
  const known = new Set<string>(Object.values(AUTOSCALE_LABELS));
  for (const k of keys) {
    if (!known.has(k)) throw new AutoscalePolicyError(`${k}: unknown autoscale setting (known: ${Object.keys(AUTOSCALE_LABELS).join(', ')})`);
  }
  const min = intLabel(l, AUTOSCALE_LABELS.min, 1, MAX_REPLICAS);
  const max = intLabel(l, AUTOSCALE_LABELS.max, 1, MAX_REPLICAS);
  if (max < min) throw new AutoscalePolicyError(`${AUTOSCALE_LABELS.max}: ${max} is below ${AUTOSCALE_LABELS.min} ${min}`);
  const cpuPercent = optionalInt(l, AUTOSCALE_LABELS.cpu, 1, 1000);
  const memoryPercent = optionalInt(l, AUTOSCALE_LABELS.memory, 1, 100);
  const rps = optionalInt(l, AUTOSCALE_LABELS.rps, 1, 1_000_000);
  if (cpuPercent === undefined && memoryPercent === undefined && rps === undefined) {
    throw new AutoscalePolicyError(`a target is required: ${AUTOSCALE_LABELS.cpu}, ${AUTOSCALE_LABELS.memory} or ${AUTOSCALE_LABELS.rps}`);
  }
  return {
    min, max,
    ...(cpuPercent !== undefined ? { cpuPercent } : {}),
    ...(memoryPercent !== undefined ? { memoryPercent } : {}),
    ...(rps !== undefined ? { rps } : {}),
    windowMs: durationLabel(l, AUTOSCALE_LABELS.window, DEFAULT_WINDOW_MS),
    cooldownMs: durationLabel(l, AUTOSCALE_LABELS.cooldown, DEFAULT_COOLDOWN_MS),
  };
}

/**
 * Bytes a task's memory use is measured against: the service's memory limit, else its
 * reservation; 0 when it has neither (a memory target is then refused). Pure.
 */
export function memoryBasisBytes(resources: { Limits?: { MemoryBytes?: number }; Reservations?: { MemoryBytes?: number } } | undefined): number {
  const limit = resources?.Limits?.MemoryBytes ?? 0;
  return limit > 0 ? limit : Math.max(0, resources?.Reservations?.MemoryBytes ?? 0);
}

/**
 * Throws {@link AutoscalePolicyError} when the policy asks for something this service
 * cannot be measured against: a memory target without a memory limit or reservation.
 */
export function checkAutoscaleBasis(p: AutoscalePolicy, resources: Parameters<typeof memoryBasisBytes>[0]): void {
  if (p.memoryPercent !== undefined && memoryBasisBytes(resources) === 0) {
    throw new AutoscalePolicyError(`${AUTOSCALE_LABELS.memory}: the service has no memory limit or reservation to measure against (set --limit-memory or --reserve-memory)`);
  }
}

/** The labels of a policy (for `shoal service autoscale`), durations as Go durations. */
export function autoscaleLabels(p: AutoscalePolicy): Record<string, string> {
  return {
    [AUTOSCALE_LABELS.min]: String(p.min), [AUTOSCALE_LABELS.max]: String(p.max),
    ...(p.cpuPercent !== undefined ? { [AUTOSCALE_LABELS.cpu]: String(p.cpuPercent) } : {}),
    ...(p.memoryPercent !== undefined ? { [AUTOSCALE_LABELS.memory]: String(p.memoryPercent) } : {}),
    ...(p.rps !== undefined ? { [AUTOSCALE_LABELS.rps]: String(p.rps) } : {}),
    [AUTOSCALE_LABELS.window]: formatPolicyDuration(p.windowMs), [AUTOSCALE_LABELS.cooldown]: formatPolicyDuration(p.cooldownMs),
  };
}
