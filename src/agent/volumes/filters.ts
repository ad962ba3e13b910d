/**
 * `docker volume ls --filter` and `docker volume prune --filter`: which volumes a
 * request selects. Pure: the caller says which containers use which volume.
 */
import { VolumeInvalidError } from './errors.ts';
import type { VolumeRecord } from './volume-store.ts';

const LIST_KEYS = new Set(['name', 'label', 'dangling', 'driver']);
const PRUNE_KEYS = new Set(['label', 'label!']);

/** Whether `labels` has `key` or `key=value`. */
function hasLabel(labels: Record<string, string>, want: string): boolean {
  const i = want.indexOf('=');
  if (i < 0) return want in labels;
  return labels[want.slice(0, i)] === want.slice(i + 1);
}

function bool(key: string, v: string): boolean {
  const l = v.toLowerCase();
  if (l === 'true' || l === '1') return true;
  if (l === 'false' || l === '0') return false;
  throw new VolumeInvalidError(`invalid filter '${key}=${v}'`);
}

function refuseUnknown(filters: Map<string, string[]>, known: Set<string>): void {
  for (const k of filters.keys()) if (!known.has(k)) throw new VolumeInvalidError(`invalid filter '${k}'`);
}

/**
 * The volumes `GET /volumes` lists: `name` (substring, any value), `label` (every one),
 * `dangling` (used by no container, or used), `driver` (exact). Throws
 * VolumeInvalidError for an unknown filter or a bad `dangling` value.
 */
export function selectVolumes(vols: VolumeRecord[], filters: Map<string, string[]>, usedBy: (name: string) => string[]): VolumeRecord[] {
  refuseUnknown(filters, LIST_KEYS);
  const names = filters.get('name') ?? [];
  const labels = filters.get('label') ?? [];
  const drivers = filters.get('driver') ?? [];
  const dangling = (filters.get('dangling') ?? []).map((v) => bool('dangling', v));
  if (new Set(dangling).size > 1) return [];
  return vols.filter((v) =>
    (names.length === 0 || names.some((n) => v.name.includes(n))) &&
    labels.every((l) => hasLabel(v.labels, l)) &&
    (drivers.length === 0 || drivers.includes(v.driver)) &&
    (dangling.length === 0 || dangling[0] === (usedBy(v.name).length === 0)));
}

/**
 * The volumes `POST /volumes/prune` removes: every one no container uses, narrowed by
 * `label` (has every one) and `label!` (has none). API v1.41 prunes named volumes too.
 */
export function pruneCandidates(vols: VolumeRecord[], filters: Map<string, string[]>, usedBy: (name: string) => string[]): VolumeRecord[] {
  refuseUnknown(filters, PRUNE_KEYS);
  const want = filters.get('label') ?? [];
  const not = filters.get('label!') ?? [];
  return vols.filter((v) => usedBy(v.name).length === 0 && want.every((l) => hasLabel(v.labels, l)) && !not.some((l) => hasLabel(v.labels, l)));
}
