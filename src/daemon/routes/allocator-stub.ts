/**
 * TEMPORARY stand-in for the allocator's pure checks (src/manager/allocator/index.ts,
 * being written at the same time); deleted once they land. Same names and shapes.
 */
import { ConflictError } from '../../api/errors.ts';
import type { Network, NetworkSpec } from '../../api/types/network.ts';
import type { EndpointSpec, Service } from '../../api/types/service.ts';

export function checkNetworkRequest(_existing: readonly Network[], _spec: NetworkSpec, _cluster: unknown): void {}

export function checkPublishedPorts(existing: readonly Service[], serviceId: string | undefined, spec: EndpointSpec | undefined): void {
  for (const p of spec?.Ports ?? []) {
    if (!p.PublishedPort) continue;
    for (const s of existing) {
      if (s.ID === serviceId) continue;
      for (const q of s.Endpoint?.Ports ?? s.Spec.EndpointSpec?.Ports ?? []) {
        if (q.PublishedPort === p.PublishedPort && (q.Protocol ?? 'tcp') === (p.Protocol ?? 'tcp')) {
          throw new ConflictError(`port '${p.PublishedPort}' is already in use by service '${s.Spec.Name}' (${s.ID}) as an ingress port`);
        }
      }
    }
  }
}
