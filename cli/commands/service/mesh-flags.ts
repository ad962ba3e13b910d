/**
 * Shoal's `--mesh-traffic-policy` of `service create` and `service update`: where a
 * node sends the connections of the service's `mode=ingress` published ports, as the
 * `com.shoal.mesh.traffic-policy` service label (src/api/spec/mesh-traffic-policy.ts):
 * `cluster` (Docker's routing mesh, the default), `local` (this node's tasks only, the
 * client's address kept, refused on a node without a task) or `local-or-forward` (as
 * `local` where the node has a task, as `cluster` where it has none). The long
 * `--publish`/`--publish-add` syntax takes it too (`published=8080,target=80,
 * traffic-policy=local`); it is the service's, so every port that names it must agree. Pure.
 */
import { Flags } from '@oclif/core';
import type { ServiceSpec } from '../../../src/api/types/service.ts';
import { MESH_TRAFFIC_POLICY_VALUES, withMeshTrafficPolicyFlag } from '../../../src/api/spec/mesh-traffic-policy.ts';

/** The flag, the same for create and update. */
export const meshFlags = {
  'mesh-traffic-policy': Flags.string({
    summary: 'Where a node sends the ingress ports\' connections: cluster (Docker\'s mesh, default), local (its own tasks, client address kept; refused without one), local-or-forward (Shoal; also --publish …,traffic-policy=P).',
    options: [...MESH_TRAFFIC_POLICY_VALUES],
  }),
};

/**
 * The policy the long `--publish` values name (`traffic-policy=P`), or undefined; throws
 * a plain Error when two disagree or a host-mode port names one (host mode always keeps
 * the client's address: there is no mesh to choose for).
 */
export function publishTrafficPolicy(values: readonly string[]): string | undefined {
  let policy: string | undefined;
  for (const v of values) {
    const fields = new Map(v.split(',').map((f) => { const i = f.indexOf('='); return [f.slice(0, i).trim().toLowerCase(), f.slice(i + 1).trim()] as const; }));
    const p = fields.get('traffic-policy');
    if (!v.includes('=') || p === undefined) continue;
    if (!(MESH_TRAFFIC_POLICY_VALUES as readonly string[]).includes(p)) throw new Error(`invalid traffic-policy "${p}" in --publish "${v}": expected ${MESH_TRAFFIC_POLICY_VALUES.join(', ')}`);
    if (fields.get('mode') === 'host') throw new Error(`invalid publish value "${v}": traffic-policy is for mode=ingress ports (host mode keeps the client's address)`);
    if (policy !== undefined && policy !== p) throw new Error(`conflicting traffic-policy values "${policy}" and "${p}": it applies to every ingress port of the service`);
    policy = p;
  }
  return policy;
}

/** Sets the service label from the flag or the `--publish` values, when given; throws a plain Error on a bad or conflicting value. */
export function applyMeshFlags(spec: ServiceSpec, flags: Record<string, unknown>): void {
  const flag = flags['mesh-traffic-policy'] as string | undefined;
  const published = publishTrafficPolicy([...(flags.publish as string[] | undefined ?? []), ...(flags['publish-add'] as string[] | undefined ?? [])]);
  if (flag !== undefined && published !== undefined && flag !== published) {
    throw new Error(`--mesh-traffic-policy "${flag}" and a --publish traffic-policy "${published}" disagree`);
  }
  const v = flag ?? published;
  if (v !== undefined) spec.Labels = withMeshTrafficPolicyFlag(spec.Labels, v);
}
