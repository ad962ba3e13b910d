/**
 * Docker's v1.41 response schemas (from the generated `src/api/spec/docker-v1.41-facts.json`)
 * as ajv validators. Swagger 2.0 is close to JSON Schema draft 4/7; the differences that
 * matter for responses:
 * - `x-nullable: true` admits `null` besides the declared schema;
 * - an object without `additionalProperties` admits any other property (JSON Schema's
 *   default too). `closed` validators also refuse properties the spec does not name, to
 *   report the fields Shoal adds beyond Docker's;
 * - formats (`int64`, `dateTime`, `uint64`) are Go type hints, not string formats: ignored.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';

type Schema = Record<string, unknown>;

export interface SpecEndpoint {
  method: string;
  path: string;
  tag: string;
  produces: string[];
  responses: Record<string, { schema?: Schema }>;
}

export interface Facts {
  version: string;
  endpoints: SpecEndpoint[];
  definitions: Record<string, Schema>;
}

export function loadFacts(): Facts {
  return JSON.parse(readFileSync(new URL('../../src/api/spec/docker-v1.41-facts.json', import.meta.url), 'utf8')) as Facts;
}

/**
 * A Swagger 2.0 schema as JSON Schema; `closed` sets `additionalProperties: false` where the
 * spec left it open, and (given `defs`) merges an `allOf` of objects into one object, since
 * draft-07 cannot close a composition branch by branch.
 */
export function toJsonSchema(schema: unknown, closed: boolean, defs?: Record<string, Schema>): unknown {
  if (Array.isArray(schema)) return schema.map((s) => toJsonSchema(s, closed, defs));
  if (schema === null || typeof schema !== 'object') return schema;
  let s = schema as Schema;
  if (closed && defs && Array.isArray(s.allOf)) s = mergeAllOf(s, defs);
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'x-nullable' || k === 'format') continue;
    if (k === '$ref') out[k] = v;
    else if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v as Schema).map(([p, ps]) => [p, toJsonSchema(ps, closed, defs)]));
    else if (k === 'items' || k === 'additionalProperties' || k === 'allOf') out[k] = toJsonSchema(v, closed, defs);
    else out[k] = v;
  }
  // allOf branches are closed as a whole only (closing each branch would refuse the other's fields).
  if (closed && out.properties && !('additionalProperties' in out) && !out.allOf) out.additionalProperties = false;
  if (s['x-nullable'] === true) return { anyOf: [out, { type: 'null' }] };
  return out;
}

/** `allOf: [{$ref: A}, {properties: …}]` as one object schema with the properties of every branch. */
function mergeAllOf(s: Schema, defs: Record<string, Schema>): Schema {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const branch of s.allOf as Schema[]) {
    const b = typeof branch.$ref === 'string' ? defs[branch.$ref.replace('#/definitions/', '')] : branch;
    const flat = b.allOf ? mergeAllOf(b, defs) : b;
    Object.assign(properties, flat.properties ?? {});
    required.push(...((flat.required as string[] | undefined) ?? []));
  }
  const { allOf: _allOf, ...rest } = s;
  return { ...rest, type: 'object', properties, ...(required.length ? { required } : {}) };
}

/**
 * Responses where the v1.41 spec contradicts what Docker Engine sends (and the docker CLI
 * reads): the schema Docker's own code answers with, and why. Kept short and explicit.
 */
const ERRATA: Record<string, Schema> = {
  // moby returns types.SecretCreateResponse / ConfigCreateResponse `{ID}`; the spec says IdResponse `{Id}`.
  'POST /secrets/create 201': { type: 'object', required: ['ID'], properties: { ID: { type: 'string' } } },
  'POST /configs/create 201': { type: 'object', required: ['ID'], properties: { ID: { type: 'string' } } },
};

/** Validators of one endpoint's response bodies by status code, open and closed. */
export class SchemaBook {
  private readonly open: Ajv;
  private readonly closed: Ajv;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(readonly facts: Facts) {
    const defs = (closed: boolean) => Object.fromEntries(Object.entries(facts.definitions).map(([n, s]) => [n, toJsonSchema(s, closed, facts.definitions)]));
    this.open = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    this.closed = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    this.open.addSchema({ $id: 'docker', definitions: defs(false) });
    this.closed.addSchema({ $id: 'docker', definitions: defs(true) });
  }

  endpoint(method: string, path: string): SpecEndpoint {
    const e = this.facts.endpoints.find((x) => x.method === method && x.path === path);
    if (!e) throw new Error(`conformance: ${method} ${path} is not in Docker's v1.41 spec`);
    return e;
  }

  /** ajv errors of `body` against the response schema of `method path` for `status` (open or closed). */
  check(method: string, path: string, status: number, body: unknown, closed = false): ErrorObject[] {
    const key = `${closed}|${method} ${path} ${status}`;
    let v = this.cache.get(key);
    if (!v) {
      const schema = ERRATA[`${method} ${path} ${status}`] ?? this.endpoint(method, path).responses[String(status)]?.schema;
      if (!schema) throw new Error(`conformance: ${method} ${path} documents no body for ${status}`);
      const js = JSON.parse(JSON.stringify(toJsonSchema(schema, closed, this.facts.definitions)).replaceAll('"#/definitions/', '"docker#/definitions/'));
      v = (closed ? this.closed : this.open).compile(js as object);
      this.cache.set(key, v);
    }
    return v(body) ? [] : [...(v.errors ?? [])];
  }
}
