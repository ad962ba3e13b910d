/**
 * Shoal's rebalancing switch (issue 22): the leader moves tasks of replicated services
 * toward an even spread when a node joins, comes back or becomes active again, unless
 * the service or the whole swarm opts out. The switch is a label, `com.shoal.rebalance`
 * (`true` or `false`; absent means on), on the service (`service create/update
 * --rebalance=false`) or on the swarm (`swarm update --rebalance=false`), so the stock
 * docker CLI, which sends back the labels it read, keeps it across its own updates. Pure.
 */

/** The label on a service or on the swarm spec; `false` turns rebalancing off there. */
export const REBALANCE_LABEL = 'com.shoal.rebalance';

/** Whether `labels` leave rebalancing on (absent or `true`). */
export function rebalanceEnabled(labels: Readonly<Record<string, string>> | undefined): boolean {
  return labels?.[REBALANCE_LABEL] !== 'false';
}

/** The problem with the label's value, or undefined when it is absent, `true` or `false`. */
export function checkRebalanceLabel(labels: Readonly<Record<string, string>> | undefined): string | undefined {
  const v = labels?.[REBALANCE_LABEL];
  if (v === undefined || v === 'true' || v === 'false') return undefined;
  return `label ${REBALANCE_LABEL} must be true or false (got ${JSON.stringify(v)})`;
}

/** Sets the label from a `--rebalance` flag value (`true`: removes it, the default); throws a plain Error on another value. */
export function withRebalanceFlag(labels: Readonly<Record<string, string>> | undefined, value: string): Record<string, string> {
  if (value !== 'true' && value !== 'false') throw new Error(`invalid --rebalance "${value}": expected true or false`);
  const out = { ...(labels ?? {}) };
  if (value === 'true') delete out[REBALANCE_LABEL];
  else out[REBALANCE_LABEL] = 'false';
  return out;
}
