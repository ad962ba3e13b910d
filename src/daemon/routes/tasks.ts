/**
 * `/tasks…` of the control API (Docker Engine API v1.41): list with filters (id, name,
 * service (ID, prefix or name), node (ID or hostname), desired-state, label, and the
 * docker CLI's `_up-to-date`: tasks whose spec matches their service's, SwarmKit's rule,
 * which `service update --detach=false` relies on to know when an update converged) and
 * inspect.
 */
import type { Router } from '../../common/router.ts';
import { ConflictError, NotFoundError } from '../../api/errors.ts';
import type { Task } from '../../api/types/task.ts';
import type { Node } from '../../api/types/node.ts';
import type { ReadTx } from '../../store/index.ts';
import { filterValues, matchLabels, readBarrier, requireManager, type SwarmRef } from './lookup.ts';
import type { Service } from '../../api/types/service.ts';
import { isTaskDirty } from '../../manager/orchestrator/updater-view.ts';

/** The services a `service` filter value names: ID, name or ID prefix. */
function serviceIds(tx: ReadTx, refs: string[]): Set<string> {
  const all = tx.list('service');
  const out = new Set<string>();
  for (const r of refs) for (const s of all) if (s.ID === r || s.Spec.Name === r || s.ID.startsWith(r)) out.add(s.ID);
  // A deleted service's ID still selects its remaining tasks.
  for (const r of refs) out.add(r);
  return out;
}

function nodeIds(nodes: Node[], refs: string[]): Set<string> {
  const out = new Set<string>();
  for (const r of refs) for (const n of nodes) if (n.ID === r || n.Description.Hostname === r || n.ID.startsWith(r)) out.add(n.ID);
  return out;
}

interface Selection {
  services?: Set<string>;
  nodes?: Set<string>;
  /** Set when `_up-to-date` is asked for: every service by ID, to compare each task with. */
  upToDateOf?: Map<string, Service>;
}

function matches(t: Task, filters: Map<string, string[]>, sel: Selection): boolean {
  const ids = filters.get('id');
  if (ids && !ids.some((p) => t.ID.startsWith(p))) return false;
  const names = filters.get('name');
  if (names && !names.some((p) => (t.Name ?? '').startsWith(p))) return false;
  if (sel.services && !sel.services.has(t.ServiceID)) return false;
  if (sel.nodes && !(t.NodeID && sel.nodes.has(t.NodeID))) return false;
  const desired = filters.get('desired-state');
  if (desired && !desired.includes(t.DesiredState)) return false;
  const labels = filters.get('label');
  if (labels && !matchLabels(t.Labels, labels)) return false;
  if (sel.upToDateOf) {
    const service = sel.upToDateOf.get(t.ServiceID);
    if (!service || isTaskDirty(service, t)) return false;
  }
  return true;
}

export function addTaskRoutes(router: Router, swarm: SwarmRef): void {
  router.get('/tasks', async (ctx) => {
    const manager = requireManager(swarm);
    const filters = filterValues(ctx.query);
    await readBarrier(manager, ctx.res);
    return manager.store.view((tx) => {
      const svc = filters.get('service');
      const node = filters.get('node');
      const sel: Selection = {
        services: svc ? serviceIds(tx, svc) : undefined,
        nodes: node ? nodeIds(tx.list('node'), node) : undefined,
        upToDateOf: filters.has('_up-to-date') ? new Map(tx.list('service').map((s) => [s.ID, s])) : undefined,
      };
      return tx.list('task', (t) => matches(t, filters, sel));
    });
  });

  router.get('/tasks/:id', async (ctx) => {
    const manager = requireManager(swarm);
    await readBarrier(manager, ctx.res);
    const ref = ctx.params.id;
    return manager.store.view((tx) => {
      const t = tx.get('task', ref);
      if (t) return t;
      const byPrefix = ref ? tx.list('task', (x) => x.ID.startsWith(ref)) : [];
      if (byPrefix.length === 1) return byPrefix[0];
      if (byPrefix.length > 1) throw new ConflictError(`task ${ref} is ambiguous (${byPrefix.length} matches found)`);
      throw new NotFoundError(`task ${ref} not found`);
    });
  });
}
