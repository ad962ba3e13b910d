/** Go-style durations and Docker's byte sizes, as compose files write them. Pure. */

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** `1m30s`, `500ms`, `10s`, `1.5h` (or a bare number of seconds) in nanoseconds; throws on anything else. */
export function parseDuration(s: string | number): number {
  if (typeof s === 'number') return Math.round(s * 1e9);
  const t = s.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1e9);
  if (t === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let ns = 0;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(t))) {
    ns += Number(m[1]) * UNIT_NS[m[2]];
    at = re.lastIndex;
  }
  if (at !== t.length || at === 0) throw new Error(`invalid duration "${s}" (expected e.g. 10s, 1m30s, 500ms)`);
  return Math.round(ns);
}

/** `64m`, `1g`, `512k`, `1.5gb`, plain bytes, in bytes; throws on anything else. */
export function parseBytes(s: string | number): number {
  if (typeof s === 'number') return s;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?$/i.exec(s.trim());
  if (!m) throw new Error(`invalid size "${s}" (expected e.g. 512m, 1g, 1048576)`);
  const mult = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'b' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}
