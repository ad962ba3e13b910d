/**
 * `--since` / `--until` values as docker takes them: a duration before now (`10m`,
 * `1h30m`, `45s`), an RFC 3339 date or date-time, or seconds since the epoch
 * (`1700000000[.NANOS]`); turned into what the API takes (`SECONDS.NANOS`). Pure.
 */

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The value as ms since the epoch; throws a clear error naming `flag`. */
export function parseTimeArg(flag: string, value: string, nowMs: number): number {
  const v = value.trim();
  if (/^\d+(\.\d{1,9})?$/.test(v)) return Math.round(Number(v) * 1000);
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) {
    let ms = 0;
    for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
    return nowMs - ms;
  }
  const t = Date.parse(/^\d{4}-\d\d-\d\d$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(t)) throw new Error(`invalid value for --${flag}: ${JSON.stringify(value)} (want a duration such as 10m, a date, or seconds since the epoch)`);
  return t;
}

/** ms since the epoch in the API's `SECONDS.NANOS` form. */
export function apiTime(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${s}.${String(Math.round((ms - s * 1000) * 1e6)).padStart(9, '0')}`;
}
