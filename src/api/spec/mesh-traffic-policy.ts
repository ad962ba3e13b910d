/**
 * Shoal's routing-mesh traffic policy (issue 22, item 2; Kubernetes'
 * `externalTrafficPolicy`): where a node sends the connections of a service's
 * `mode=ingress` published ports. A service label, `com.shoal.mesh.traffic-policy`, so
 * the stock docker CLI (which sends back the labels it read) keeps it, and compose sets
 * it under the service's `deploy.labels`:
 * - `cluster` (the default, as absent): Docker's routing mesh, over every task of the
 *   service on any node, source NATed (the task sees the node's ingress address);
 * - `local`: over the receiving node's own tasks only, without source NAT, so the task
 *   sees the client's address; a node with no running task of the service refuses the
 *   connection (TCP: ICMP port unreachable, seen as "connection refused");
 * - `local-or-forward`: as `local` on a node with a task of the service, as `cluster`
 *   (forwarded, source NATed) on a node without one.
 * Set by `service create/update --mesh-traffic-policy`. It applies to every ingress-mode
 * port of the service; host-mode ports always keep the client's address. Pure.
 */

/** The label on a service spec. */
export const MESH_TRAFFIC_POLICY_LABEL = 'com.shoal.mesh.traffic-policy';

/** The policies; `cluster` is the default. */
export const MESH_TRAFFIC_POLICY_VALUES = ['cluster', 'local', 'local-or-forward'] as const;

/** One policy. */
export type MeshTrafficPolicyValue = typeof MESH_TRAFFIC_POLICY_VALUES[number];

/** The policy `labels` ask for (`cluster` when absent; an invalid value, refused at the API, reads as `cluster`). */
export function meshTrafficPolicy(labels: Readonly<Record<string, string>> | undefined): MeshTrafficPolicyValue {
  const v = labels?.[MESH_TRAFFIC_POLICY_LABEL];
  return (MESH_TRAFFIC_POLICY_VALUES as readonly string[]).includes(v ?? '') ? v as MeshTrafficPolicyValue : 'cluster';
}

/** The problem with the label's value, or undefined when it is absent or valid. */
export function checkMeshTrafficPolicyLabel(labels: Readonly<Record<string, string>> | undefined): string | undefined {
  const v = labels?.[MESH_TRAFFIC_POLICY_LABEL];
  if (v === undefined || (MESH_TRAFFIC_POLICY_VALUES as readonly string[]).includes(v)) return undefined;
  return `label ${MESH_TRAFFIC_POLICY_LABEL} must be one of ${MESH_TRAFFIC_POLICY_VALUES.join(', ')} (got ${JSON.stringify(v)})`;
}

/**
 * Sets the label from a `--mesh-traffic-policy` flag value (`cluster`: removes it, the
 * default); throws a plain Error on another value.
 */
export function withMeshTrafficPolicyFlag(labels: Readonly<Record<string, string>> | undefined, value: string): Record<string, string> {
  if (!(MESH_TRAFFIC_POLICY_VALUES as readonly string[]).includes(value)) {
    throw new Error(`invalid --mesh-traffic-policy "${value}": expected ${MESH_TRAFFIC_POLICY_VALUES.join(', ')}`);
  }
  const out = { ...(labels ?? {}) };
  if (value === 'cluster') delete out[MESH_TRAFFIC_POLICY_LABEL];
  else out[MESH_TRAFFIC_POLICY_LABEL] = value;
  return out;
}
