/**
 * `POST /containers/{id}/update` bodies (Docker's UpdateConfig): the memory, CPU and
 * PIDs limits of a standalone container. Pure. Every other field passes only while it
 * is empty (zero values are what the CLI sends for flags not given); a non-empty one
 * is refused naming it (501).
 */
import type { TaskResources } from '../../exec/types.ts';
import { CreateConfigError } from './errors.ts';

/** Fields applied by {@link checkUpdate}. */
export const UPDATE_APPLIED = ['Memory', 'NanoCpus', 'PidsLimit', 'MemorySwap', 'RestartPolicy'];

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as Record<string, unknown>).every(isEmpty);
  return false;
}

/** The resources after the update `raw` on top of `current`. Throws CreateConfigError naming the field. */
export function checkUpdate(raw: unknown, current: TaskResources): TaskResources {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new CreateConfigError('update: the body must be a JSON object');
  const b = raw as Record<string, unknown>;
  for (const [k, v] of Object.entries(b)) {
    if (UPDATE_APPLIED.includes(k) || isEmpty(v)) continue;
    throw new CreateConfigError(`${k}: updating it is not supported by shoal (memory, CPUs and the PIDs limit are)`, 501);
  }
  const rp = b.RestartPolicy as { Name?: string } | undefined;
  if (rp?.Name && rp.Name !== 'no') throw new CreateConfigError(`RestartPolicy: restart policy ${rp.Name} is not supported by shoal for standalone containers yet`, 501);
  const next: TaskResources = { ...current };
  const num = (k: string, min: number): number | undefined => {
    const v = b[k];
    if (v === undefined || v === null || v === 0) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new CreateConfigError(`${k}: must be an integer ≥ ${min}`);
    return v;
  };
  const mem = num('Memory', 6 * 1024 * 1024);
  if (mem) next.memoryBytes = mem;
  const swap = b.MemorySwap;
  if (swap !== undefined && swap !== null && swap !== 0 && swap !== -1 && !(next.memoryBytes && swap === next.memoryBytes * 2)) {
    throw new CreateConfigError('MemorySwap: a swap limit is not supported by shoal (only the default)', 501);
  }
  const cpus = num('NanoCpus', 1e7);
  if (cpus) next.nanoCpus = cpus;
  if (b.PidsLimit === -1) delete next.pidsLimit;
  else { const p = num('PidsLimit', 1); if (p) next.pidsLimit = p; }
  return next;
}
