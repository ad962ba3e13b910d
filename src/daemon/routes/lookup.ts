/**
 * What the service and task routes share: the manager of this node (or Docker's 503),
 * a read barrier, filter parsing and lookups by ID, ID prefix or name as Docker does.
 */
import { ApiError, ConflictError, InvalidArgumentError, NotFoundError, UnavailableError } from '../../api/errors.ts';
import type { Service } from '../../api/types/service.ts';
import type { Manager } from '../../manager/manager.ts';
import type { SwarmNode } from '../../swarm/swarm-node.ts';
import { NO_SWARM_MANAGER, parseFilters } from './swarm.ts';

/** The current swarm membership, as the daemon holds it. */
export type SwarmRef = () => SwarmNode | undefined;

export function requireManager(swarm: SwarmRef): Manager {
  const s = swarm();
  if (!s) throw new UnavailableError(NO_SWARM_MANAGER);
  return s.requireManager();
}

/** A linearizable read when there is a leader; otherwise this manager's copy, with a warning header. */
export async function readBarrier(manager: Manager, res: { setHeader(k: string, v: string): void }): Promise<void> {
  try {
    await manager.barrier(1500);
  } catch {
    res.setHeader('Warning', '199 shoal "the swarm has no leader (no quorum of managers): this state may be stale"');
  }
}

/** Docker's `filters` query as key → values (the `{"k":{"v":true}}` and `{"k":["v"]}` forms). */
export function filterValues(q: URLSearchParams): Map<string, string[]> {
  const raw = parseFilters(q);
  const out = new Map<string, string[]>();
  for (const [k, v] of Object.entries(raw)) {
    const values = Array.isArray(v) ? v.map(String) : Object.keys(v).filter((x) => (v as Record<string, boolean>)[x]);
    out.set(k, values);
  }
  return out;
}

/** Whether `labels` has every `key` or `key=value` of `wanted`. */
export function matchLabels(labels: Record<string, string> | undefined, wanted: string[]): boolean {
  return wanted.every((l) => {
    const i = l.indexOf('=');
    const k = i < 0 ? l : l.slice(0, i);
    if (!labels || !(k in labels)) return false;
    return i < 0 || labels[k] === l.slice(i + 1);
  });
}

/**
 * {@link resolveService} for a write: a refusal read from this manager's state may be
 * stale (a follower behind or cut off), so it is confirmed after a read barrier, which
 * answers 503 without a leader instead of a stale 404.
 */
export async function resolveServiceForWrite(manager: Manager, ref: string): Promise<Service> {
  try {
    return resolveService(manager, ref);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status >= 500) throw err;
    await manager.barrier();
    return resolveService(manager, ref);
  }
}

/** The service named by full ID, name, or unique ID prefix (Docker's order). */
export function resolveService(manager: Manager, ref: string): Service {
  return manager.store.view((tx) => {
    const byId = tx.get('service', ref);
    if (byId) return byId;
    const byName = tx.getByName('service', ref);
    if (byName) return byName;
    const byPrefix = ref ? tx.list('service', (s) => s.ID.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1) throw new ConflictError(`service ${ref} is ambiguous (${byPrefix.length} matches found)`);
    throw new NotFoundError(`service ${ref} not found`);
  });
}

/** `?version=N`, required by updates. */
export function requireVersion(q: URLSearchParams): number {
  const v = q.get('version');
  if (v === null || !/^\d+$/.test(v)) throw new InvalidArgumentError('invalid or missing version: an update must quote the version it read (?version=N)');
  return Number(v);
}
