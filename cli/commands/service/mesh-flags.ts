/**
 * Shoal's `--mesh-traffic-policy` of `service create` and `service update`: where a
 * node sends the connections of the service's `mode=ingress` published ports, as the
 * `com.shoal.mesh.traffic-policy` service label (src/api/spec/mesh-traffic-policy.ts):
 * `cluster` (Docker's routing mesh, the default), `local` (this node's tasks only, the
 * client's address kept, refused on a node without a task) or `local-or-forward` (as
 * `local` where the node has a task, as `cluster` where it has none). Pure.
 */
import { Flags } from '@oclif/core';
import type { ServiceSpec } from '../../../src/api/types/service.ts';
import { MESH_TRAFFIC_POLICY_VALUES, withMeshTrafficPolicyFlag } from '../../../src/api/spec/mesh-traffic-policy.ts';

/** The flag, the same for create and update. */
export const meshFlags = {
  'mesh-traffic-policy': Flags.string({
    summary: 'Where a node sends the ingress ports\' connections: cluster (Docker\'s mesh, default), local (its own tasks, client address kept; refused without one), local-or-forward (Shoal).',
    options: [...MESH_TRAFFIC_POLICY_VALUES],
  }),
};

/** Sets the service label from the flag, when given; throws a plain Error on a bad value. */
export function applyMeshFlags(spec: ServiceSpec, flags: Record<string, unknown>): void {
  const v = flags['mesh-traffic-policy'];
  if (v !== undefined) spec.Labels = withMeshTrafficPolicyFlag(spec.Labels, v as string);
}
