/**
 * `shoal service update` flags of Shoal's update strategies (beyond docker's):
 * `--strategy rolling|canary|blue-green` and the `--canary-*` settings. They are written
 * to the service's `com.shoal.update.*` labels (see `src/api/spec/update-policy.ts`),
 * which the stock docker CLI carries over on its own updates. A `--canary-*` flag alone
 * implies `--strategy canary`; `--strategy rolling` or `blue-green` drops the canary
 * settings. Pure: a bad value throws a plain `Error` and nothing is sent.
 */
import { Flags } from '@oclif/core';
import type { ServiceSpec } from '../../../src/api/types/service.ts';
import { POLICY_LABELS, POLICY_PREFIX, updatePolicyOf, UpdatePolicyError } from '../../../src/api/spec/update-policy.ts';

/** The flags. */
export const strategyFlags = {
  strategy: Flags.string({ summary: 'Update strategy (Shoal): rolling (docker\'s), canary, or blue-green.', options: ['rolling', 'canary', 'blue-green'] }),
  'canary-replicas': Flags.integer({ summary: 'Tasks replaced as the canary before the update holds (default 1).', min: 1 }),
  'canary-monitor': Flags.string({ summary: 'How long the canary is watched once up before the decision (e.g. 30s, 1m30s; default 30s).' }),
  'canary-weight': Flags.integer({ summary: 'Percent of new connections sent to the canary while it holds (0-100; default: balanced like any task).', min: 0, max: 100 }),
  'canary-auto': Flags.string({ summary: 'promote: promote or roll back by itself; rollback: roll back by itself, promote with `shoal service promote`.', options: ['promote', 'rollback'] }),
  'canary-max-failure-ratio': Flags.string({ summary: 'Canary failures tolerated, as a ratio of canary tasks (0-1; default 0).' }),
};

const CANARY_FLAGS: [string, string][] = [
  ['canary-replicas', POLICY_LABELS.replicas],
  ['canary-monitor', POLICY_LABELS.monitor],
  ['canary-weight', POLICY_LABELS.weight],
  ['canary-auto', POLICY_LABELS.auto],
  ['canary-max-failure-ratio', POLICY_LABELS.maxFailureRatio],
];

/** Whether any strategy flag was given. */
export function hasStrategyFlags(flags: Record<string, unknown>): boolean {
  return flags.strategy !== undefined || CANARY_FLAGS.some(([f]) => flags[f] !== undefined);
}

/** Applies the strategy flags to `spec`'s labels in place; throws `Error` naming the flag's label on a bad value. */
export function applyStrategyFlags(spec: ServiceSpec, flags: Record<string, unknown>): void {
  if (!hasStrategyFlags(flags)) return;
  const labels = { ...(spec.Labels ?? {}) };
  const canaryGiven = CANARY_FLAGS.some(([f]) => flags[f] !== undefined);
  const strategy = (flags.strategy as string | undefined) ?? (canaryGiven ? 'canary' : labels[POLICY_LABELS.strategy] ?? 'rolling');
  if (canaryGiven && strategy !== 'canary') throw new Error(`--canary-* flags need --strategy canary (got --strategy ${strategy})`);
  if (strategy === 'rolling') delete labels[POLICY_LABELS.strategy];
  else labels[POLICY_LABELS.strategy] = strategy;
  if (strategy !== 'canary') {
    for (const k of Object.keys(labels)) if (k.startsWith(`${POLICY_PREFIX}canary.`)) delete labels[k];
  }
  for (const [flag, label] of CANARY_FLAGS) if (flags[flag] !== undefined) labels[label] = String(flags[flag]);
  try {
    updatePolicyOf(labels);
  } catch (err) {
    if (err instanceof UpdatePolicyError) throw new Error(err.message);
    throw err;
  }
  spec.Labels = labels;
}
