/**
 * What the service and task routes share: the manager of this node (or Docker's 503),
 * a read barrier, filter parsing and lookups by ID, ID prefix or name as Docker does.
 */
import { ConflictError, InvalidArgumentError, NotFoundError, UnavailableError } from '../../api/errors.ts';
import type { Service } from '../../api/types/service.ts';
import type { Manager } from '../../manager/manager.ts';
import type { ReadTx } from '../../store/index.ts';
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
 * The service named by full ID, name, or unique ID prefix (Docker's order), read in `tx`.
 * A write looks it up inside its own `store.update`: a refusal from there (404, 409) is
 * confirmed by the store after a read barrier (memory-store.ts), so a follower behind
 * the leader, or cut off from it, never answers a stale 404 (503 without a leader).
 */
export function findService(tx: ReadTx, ref: string): Service {
  const byId = tx.get('service', ref);
  if (byId) return byId;
  const byName = tx.getByName('service', ref);
  if (byName) return byName;
  const byPrefix = ref ? tx.list('service', (s) => s.ID.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0];
  if (byPrefix.length > 1) throw new ConflictError(`service ${ref} is ambiguous (${byPrefix.length} matches found)`);
  throw new NotFoundError(`service ${ref} not found`);
}

/** {@link findService} on this manager's state, for reads. */
export function resolveService(manager: Manager, ref: string): Service {
  return manager.store.view((tx) => findService(tx, ref));
}

/** `?version=N`, required by updates. */
export function requireVersion(q: URLSearchParams): number {
  const v = q.get('version');
  if (v === null || !/^\d+$/.test(v)) throw new InvalidArgumentError('invalid or missing version: an update must quote the version it read (?version=N)');
  return Number(v);
}
