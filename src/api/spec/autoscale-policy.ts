/**
 * Shoal's autoscaling (beyond Swarm, moby#32054), carried in a replicated service's
 * labels under `com.shoal.autoscale.*`, for the reason `update-policy.ts` gives (the stock
 * docker CLI round-trips `Spec.Labels` whole and would drop an unknown spec field):
 *
 *   com.shoal.autoscale.min       fewest replicas, ≥ 1 (required)
 *   com.shoal.autoscale.max       most replicas, ≥ min, ≤ 10,000 (required)
 *   com.shoal.autoscale.cpu       target CPU use per task, % of its CPU limit (else its
 *                                 reservation, else one CPU), 1–1000 (required)
 *   com.shoal.autoscale.window    stabilisation window, Go duration (default 30s): a change
 *                                 is made only when every recommendation in it agrees
 *   com.shoal.autoscale.cooldown  no change for this long after any change, manual ones
 *                                 included (default 30s)
 *
 * Pure. A bad value, a missing required key, or any other `com.shoal.autoscale.*` key
 * (memory and request-rate targets are not implemented) is an {@link AutoscalePolicyError}
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
  window: 'com.shoal.autoscale.window',
  cooldown: 'com.shoal.autoscale.cooldown',
} as const;

/** A service's autoscaling policy. */
export interface AutoscalePolicy {
  min: number;
  max: number;
  /** Target CPU use per task, percent of its basis (limit, else reservation, else one CPU). */
  cpuPercent: number;
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
    if (!known.has(k)) throw new AutoscalePolicyError(`${k}: unknown autoscale setting (Shoal scales on ${AUTOSCALE_LABELS.cpu} only)`);
  }
  const min = intLabel(l, AUTOSCALE_LABELS.min, 1, MAX_REPLICAS);
  const max = intLabel(l, AUTOSCALE_LABELS.max, 1, MAX_REPLICAS);
  if (max < min) throw new AutoscalePolicyError(`${AUTOSCALE_LABELS.max}: ${max} is below ${AUTOSCALE_LABELS.min} ${min}`);
  return {
    min, max,
    cpuPercent: intLabel(l, AUTOSCALE_LABELS.cpu, 1, 1000),
    windowMs: durationLabel(l, AUTOSCALE_LABELS.window, DEFAULT_WINDOW_MS),
    cooldownMs: durationLabel(l, AUTOSCALE_LABELS.cooldown, DEFAULT_COOLDOWN_MS),
  };
}

/** The labels of a policy (for `shoal service autoscale`), durations as Go durations. */
export function autoscaleLabels(p: AutoscalePolicy): Record<string, string> {
  return {
    [AUTOSCALE_LABELS.min]: String(p.min), [AUTOSCALE_LABELS.max]: String(p.max), [AUTOSCALE_LABELS.cpu]: String(p.cpuPercent),
    [AUTOSCALE_LABELS.window]: formatPolicyDuration(p.windowMs), [AUTOSCALE_LABELS.cooldown]: formatPolicyDuration(p.cooldownMs),
  };
}
