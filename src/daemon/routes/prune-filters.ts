/**
 * The filters of Docker's prune endpoints (images, networks): `until` (Unix seconds,
 * an RFC 3339 time, or a Go duration before now such as `24h` or `1h30m`), `label` and
 * `label!` (`key` or `key=value`), and for images `dangling`. A filter a prune does not
 * know is refused by name, as Docker does. Pure: `now` comes in.
 */
import { InvalidArgumentError } from '../../api/errors.ts';

/** What a prune keeps or removes, decided per object. */
export interface PruneSelector {
  /** Whether the object, created at `created` (ms) with `labels`, may be pruned. */
  matches(created: number, labels: Record<string, string> | null | undefined): boolean;
  /** The `dangling` filter's value (images): true unless `dangling=false`. */
  danglingOnly: boolean;
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`90s`, `1h30m`, `1.5h`) in ms, or undefined when `s` is not one. */
export function goDurationMs(s: string): number | undefined {
  if (!/^([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))+$/.test(s)) return undefined;
  let ms = 0;
  for (const m of s.matchAll(/([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return ms;
}

/** An `until` value as a time (ms since the epoch). */
export function untilTime(v: string, now: number): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = goDurationMs(v);
  if (d !== undefined) return now - d;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid filter 'until=${v}'`);
  return t;
}

function hasLabel(labels: Record<string, string>, f: string): boolean {
  const i = f.indexOf('=');
  return i < 0 ? f in labels : labels[f.slice(0, i)] === f.slice(i + 1);
}

/** The selector of a prune's `filters`; `allowed` names the filters that prune takes. */
export function pruneSelector(filters: Map<string, string[]>, now: number, allowed: string[]): PruneSelector {
  for (const k of filters.keys()) if (!allowed.includes(k)) throw new InvalidArgumentError(`invalid filter '${k}'`);
  const untils = (filters.get('until') ?? []).map((u) => untilTime(u, now));
  if (untils.length > 1) throw new InvalidArgumentError('more than one until filter specified');
  const dangling = filters.get('dangling') ?? [];
  for (const d of dangling) if (!['true', 'false', '1', '0'].includes(d.toLowerCase())) throw new InvalidArgumentError(`invalid filter 'dangling=${d}'`);
  const label = filters.get('label') ?? [];
  const notLabel = filters.get('label!') ?? [];
  return {
    danglingOnly: !dangling.some((d) => d === 'false' || d === '0'),
    matches(created, labels) {
      const l = labels ?? {};
      if (untils.length && !(created < untils[0])) return false;
      if (!label.every((f) => hasLabel(l, f))) return false;
      if (notLabel.some((f) => hasLabel(l, f))) return false;
      return true;
    },
  };
}
