/**
 * Shoal's update strategies beyond Docker's rolling update (canary, blue-green), carried
 * in the service's labels under `com.shoal.update.*`:
 *
 *   com.shoal.update.strategy                  rolling (default) | canary | blue-green
 *   com.shoal.update.canary.replicas           slots replaced as the canary, ≥ 1 (default 1)
 *   com.shoal.update.canary.monitor            hold after the canaries are up, Go duration (default 30s)
 *   com.shoal.update.canary.weight             % of NEW connections to the canaries, 0–100
 *                                              (absent: balanced like any other task)
 *   com.shoal.update.canary.auto               promote (default): healthy at the end of the
 *                                              window → promote, failed → roll back;
 *                                              rollback: failed → roll back, healthy → hold
 *                                              until `shoal service promote`
 *   com.shoal.update.canary.max-failure-ratio  canary failures tolerated, 0–1 (default 0)
 *
 * Why labels and not new spec fields: the stock docker CLI decodes the service it GETs
 * into Go structs and sends that back on `docker service update`, so an unknown spec
 * field would be dropped silently on the next update; `Spec.Labels` is a string map and
 * round-trips whole. A docker user who never sets these labels sees Docker's behaviour.
 *
 * Pure. A bad value or an unknown `com.shoal.update.*` key is a {@link UpdatePolicyError}
 * naming the label (the API maps it to 400): nothing Shoal would ignore is accepted.
 */

/** Label prefix of the extension. */
export const POLICY_PREFIX = 'com.shoal.update.';

/** The labels, by what they set. */
export const POLICY_LABELS = {
  strategy: 'com.shoal.update.strategy',
  replicas: 'com.shoal.update.canary.replicas',
  monitor: 'com.shoal.update.canary.monitor',
  weight: 'com.shoal.update.canary.weight',
  auto: 'com.shoal.update.canary.auto',
  maxFailureRatio: 'com.shoal.update.canary.max-failure-ratio',
} as const;

export type StrategyName = 'rolling' | 'canary' | 'blue-green';

/** The canary's settings. */
export interface CanaryPolicy {
  /** Slots replaced as the canary (the first batch), ≥ 1. Default 1. */
  replicas: number;
  /** Hold after the last canary came up, ms. Default 30,000. */
  monitorMs: number;
  /** Percent (0–100) of new connections sent to the canaries while they hold; undefined: no weighting. */
  weight?: number;
  /** `promote`: decide both ways by itself; `rollback`: only roll back by itself. Default `promote`. */
  auto: 'promote' | 'rollback';
  /** Canary failures tolerated, as a ratio of canary slots (0–1). Default 0. */
  maxFailureRatio: number;
}

/** A service's update policy. */
export interface UpdatePolicy {
  strategy: StrategyName;
  /** Set when `strategy` is `canary`. */
  canary?: CanaryPolicy;
}

/** A `com.shoal.update.*` label Shoal cannot honour. */
export class UpdatePolicyError extends Error {
  override name = 'UpdatePolicyError';
  constructor(readonly label: string, reason: string) {
    super(`update policy: label ${label}: ${reason}`);
  }
}

/** Default canary hold. */
export const DEFAULT_CANARY_MONITOR_MS = 30_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration of `ms`, `s`, `m`, `h` parts (`1m30s`, `500ms`, `2.5s`) in ms; undefined if malformed. */
export function parsePolicyDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  return Math.round(total);
}

/** Formats ms as the shortest Go duration (`30s`, `1m30s`, `250ms`). */
export function formatPolicyDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}

const MAX_MONITOR_MS = 24 * 24 * 3600 * 1000;

/**
 * The update policy the labels ask for. Throws {@link UpdatePolicyError} on an unknown
 * `com.shoal.update.*` key, a bad value, or canary settings without the canary strategy.
 */
export function updatePolicyOf(labels: Readonly<Record<string, string>> | undefined): UpdatePolicy {
  const l = labels ?? {};
  const known = new Set<string>(Object.values(POLICY_LABELS));
  for (const k of Object.keys(l)) {
    if (k.startsWith(POLICY_PREFIX) && !known.has(k)) throw new UpdatePolicyError(k, `unknown Shoal update setting (known: ${[...known].join(', ')})`);
  }
  const raw = l[POLICY_LABELS.strategy];
  const strategy = raw === undefined || raw === '' ? 'rolling' : raw;
  if (strategy !== 'rolling' && strategy !== 'canary' && strategy !== 'blue-green') {
    throw new UpdatePolicyError(POLICY_LABELS.strategy, `must be rolling, canary or blue-green (got "${raw}")`);
  }
  const canaryKeys = Object.keys(l).filter((k) => k.startsWith(`${POLICY_PREFIX}canary.`));
  if (strategy !== 'canary') {
    if (canaryKeys.length) throw new UpdatePolicyError(canaryKeys.sort()[0], `needs ${POLICY_LABELS.strategy}=canary (strategy is ${strategy})`);
    return { strategy };
  }
  return { strategy, canary: canaryOf(l) };
}

function canaryOf(l: Readonly<Record<string, string>>): CanaryPolicy {
  const out: CanaryPolicy = { replicas: 1, monitorMs: DEFAULT_CANARY_MONITOR_MS, auto: 'promote', maxFailureRatio: 0 };
  const get = (k: string) => (l[k] === undefined || l[k] === '' ? undefined : l[k]);
  const replicas = get(POLICY_LABELS.replicas);
  if (replicas !== undefined) {
    if (!/^\d+$/.test(replicas) || Number(replicas) < 1 || Number(replicas) > 10_000) throw new UpdatePolicyError(POLICY_LABELS.replicas, `must be an integer from 1 to 10000 (got "${replicas}")`);
    out.replicas = Number(replicas);
  }
  const monitor = get(POLICY_LABELS.monitor);
  if (monitor !== undefined) {
    const ms = parsePolicyDuration(monitor);
    if (ms === undefined || ms > MAX_MONITOR_MS) throw new UpdatePolicyError(POLICY_LABELS.monitor, `must be a duration such as 30s or 1m30s, at most 576h (got "${monitor}")`);
    out.monitorMs = ms;
  }
  const weight = get(POLICY_LABELS.weight);
  if (weight !== undefined) {
    if (!/^\d+$/.test(weight) || Number(weight) > 100) throw new UpdatePolicyError(POLICY_LABELS.weight, `must be a percentage, an integer from 0 to 100 (got "${weight}")`);
    out.weight = Number(weight);
  }
  const auto = get(POLICY_LABELS.auto);
  if (auto !== undefined) {
    if (auto !== 'promote' && auto !== 'rollback') throw new UpdatePolicyError(POLICY_LABELS.auto, `must be promote or rollback (got "${auto}")`);
    out.auto = auto;
  }
  const ratio = get(POLICY_LABELS.maxFailureRatio);
  if (ratio !== undefined) {
    const r = Number(ratio);
    if (!/^\d*\.?\d+$/.test(ratio) || !(r >= 0 && r <= 1)) throw new UpdatePolicyError(POLICY_LABELS.maxFailureRatio, `must be a number from 0 to 1 (got "${ratio}")`);
    out.maxFailureRatio = r;
  }
  return out;
}

/** The policy, or the rolling default when the labels are bad (for controllers: the API refused bad labels already). */
export function updatePolicyOrRolling(labels: Readonly<Record<string, string>> | undefined): UpdatePolicy {
  try {
    return updatePolicyOf(labels);
  } catch {
    return { strategy: 'rolling' };
  }
}
