/**
 * Several compose files (`-c a.yml -c b.yml`) merged in order, later files winning, with
 * Compose's rules: mappings merge key by key; `environment`, `labels` and the like merge
 * by variable (list form or map form alike); `ports` are a union; `volumes` merge by
 * target, `secrets`/`configs` by source, `networks` by name; any other list or scalar is
 * replaced. Top-level sections merge by name, each entry merged the same way. Pure.
 */
import type { ComposeData } from './load.ts';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** `["A=1", "B"]` or `{A: 1, B: null}` → `{A: "1", B: null}` (a list entry without `=` has no value). */
export function listOrDict(v: unknown, sep = '='): Record<string, string | null> {
  if (v === undefined || v === null) return {};
  if (Array.isArray(v)) {
    const out: Record<string, string | null> = {};
    for (const item of v) {
      const s = String(item);
      const i = s.indexOf(sep);
      if (i < 0) out[s] = null;
      else out[s.slice(0, i)] = s.slice(i + 1);
    }
    return out;
  }
  return Object.fromEntries(Object.entries(v as Obj).map(([k, x]) => [k, x === null || x === undefined ? null : String(x)]));
}

/** Keys of a service whose values are merged variable by variable. */
const DICT_KEYS = new Set(['environment', 'labels', 'sysctls', 'extra_hosts']);

/** The container path of a short (`src:dst[:mode]`, `dst`) or long volume entry. */
function volumeTarget(v: unknown): string {
  if (isObj(v)) return String(v.target ?? '');
  const parts = String(v).split(':');
  return parts.length === 1 ? parts[0] : parts[1];
}

function fileSource(v: unknown): string {
  return isObj(v) ? String(v.source ?? '') : String(v);
}

function mergeKeyed(a: unknown[], b: unknown[], key: (v: unknown) => string): unknown[] {
  const m = new Map<string, unknown>();
  for (const v of [...a, ...b]) m.set(key(v), v);
  return [...m.values()];
}

function networksMap(v: unknown): Obj {
  return Array.isArray(v) ? Object.fromEntries(v.map((n) => [String(n), null])) : isObj(v) ? v : {};
}

/** Deep merge of two objects: objects merge, anything else is replaced by `b`'s value. */
function deepMerge(a: unknown, b: unknown): unknown {
  if (!isObj(a) || !isObj(b)) return b;
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in a ? deepMerge(a[k], v) : v;
  return out;
}

/** One service of a later file over the same service of an earlier one. */
export function mergeService(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    if (b === undefined) { out[k] = v; continue; }
    if (DICT_KEYS.has(k)) out[k] = { ...listOrDict(b, k === 'extra_hosts' ? ':' : '='), ...listOrDict(v, k === 'extra_hosts' ? ':' : '=') };
    else if (k === 'ports' && Array.isArray(b) && Array.isArray(v)) out[k] = mergeKeyed(b, v, (p) => JSON.stringify(p));
    else if (k === 'volumes' && Array.isArray(b) && Array.isArray(v)) out[k] = mergeKeyed(b, v, volumeTarget);
    else if ((k === 'secrets' || k === 'configs') && Array.isArray(b) && Array.isArray(v)) out[k] = mergeKeyed(b, v, fileSource);
    else if (k === 'networks') out[k] = { ...networksMap(b), ...networksMap(v) };
    else if (k === 'env_file') out[k] = [...[b].flat(), ...[v].flat()];
    else if (k === 'deploy' && isObj(b) && isObj(v)) {
      const d = deepMerge(b, v) as Obj;
      if (b.labels !== undefined && v.labels !== undefined) d.labels = { ...listOrDict(b.labels), ...listOrDict(v.labels) };
      out[k] = d;
    } else out[k] = deepMerge(b, v);
  }
  return out;
}

/** The files merged in order (the first is the base). */
export function mergeCompose(files: readonly ComposeData[]): ComposeData {
  const out: ComposeData = {};
  for (const f of files) {
    for (const [section, value] of Object.entries(f)) {
      if (section === 'services' && isObj(value)) {
        const services = (out.services ??= {});
        for (const [name, svc] of Object.entries(value)) {
          services[name] = services[name] ? mergeService(services[name], (svc ?? {}) as Obj) : ((svc ?? {}) as Obj);
        }
      } else if (['networks', 'volumes', 'secrets', 'configs'].includes(section) && isObj(value)) {
        const target = ((out as Obj)[section] ??= {}) as Obj;
        for (const [name, def] of Object.entries(value)) target[name] = name in target ? deepMerge(target[name], def) : def;
      } else {
        (out as Obj)[section] = deepMerge((out as Obj)[section], value);
      }
    }
  }
  return out;
}
