// Walks every field of Docker's v1.41 specification for the bodies Shoal serves and
// checks that each is either implemented (in the body's shape, with the same JSON type)
// or in the table of fields Shoal does not implement — so a Docker field can never be
// accepted and ignored without a row saying so. Then every row is tried: a non-empty
// value is refused with 501 naming the field, an empty one passes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { type BodyKind, UNSUPPORTED, isEmptyValue } from './unsupported.ts';
import { SHAPES, type Shape, checkShape } from './shape.ts';

const SPEC_FILE = fileURLToPath(new URL('./docker-engine-api-v1.41.yaml', import.meta.url));
interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  allOf?: Schema[];
}
interface ApiDoc {
  definitions: Record<string, Schema>;
  paths: Record<string, { post: { parameters: { in: string; schema?: Schema }[] } }>;
}
const doc = parse(readFileSync(SPEC_FILE, 'utf8')) as ApiDoc;

const resolve = (s: Schema | undefined): Schema | undefined => {
  while (s?.$ref) s = doc.definitions[s.$ref.split('/').pop()!];
  return s;
};
const bodyOf = (path: string) => doc.paths[path].post.parameters.find((p) => p.in === 'body')!.schema!;

const SCHEMAS: Record<BodyKind, Schema> = {
  ServiceSpec: doc.definitions.ServiceSpec,
  SwarmSpec: doc.definitions.SwarmSpec,
  SwarmInitRequest: bodyOf('/swarm/init'),
  SwarmJoinRequest: bodyOf('/swarm/join'),
  NodeSpec: doc.definitions.NodeSpec,
};

/** Docker's YAML writes `HealthCheck`; the Go type (and every client) sends `Healthcheck`. */
const RENAMED: Record<string, string> = { HealthCheck: 'Healthcheck' };

interface Field {
  path: string;
  type: string;
}

/** Every field of `schema` as a generic path (`a.b[].c`), with its JSON type. */
function fieldsOf(schema: Schema | undefined, prefix: string, out: Field[], depth = 0): Field[] {
  const s = resolve(schema);
  if (!s || depth > 12) return out;
  for (const part of s.allOf ?? []) fieldsOf(part, prefix, out, depth + 1);
  if (s.items) fieldsOf(s.items, `${prefix}[]`, out, depth + 1);
  for (const [k0, v] of Object.entries(s.properties ?? {})) {
    const k = RENAMED[k0] ?? k0;
    const path = prefix ? `${prefix}.${k}` : k;
    const r = resolve(v)!;
    const base = r.type === undefined && r.allOf?.length === 1 ? resolve(r.allOf[0]) : undefined;
    out.push({ path, type: r.type ?? base?.type ?? (r.properties || r.allOf ? 'object' : 'any') });
    fieldsOf(v, path, out, depth + 1);
  }
  if (typeof s.additionalProperties === 'object') fieldsOf(s.additionalProperties, `${prefix}{}`, out, depth + 1);
  return out;
}

/** The shape at a generic path, 'any' inside an 'any', or undefined when the path is not in the shape. */
function shapeAt(root: Shape, path: string): Shape | undefined {
  let cur: Shape | undefined = root;
  for (const tok of path.match(/[^.[\]{}]+|\[\]|\{\}/g) ?? []) {
    if (cur === 'any') return 'any';
    if (cur === undefined || typeof cur === 'string') return undefined;
    if (tok === '[]') cur = Array.isArray(cur) ? (cur as readonly [Shape])[0] : undefined;
    else if (tok === '{}') cur = '$map' in cur ? (cur as { $map: Shape }).$map : undefined;
    else cur = Array.isArray(cur) || '$map' in cur ? undefined : Object.hasOwn(cur, tok) ? (cur as Record<string, Shape>)[tok] : undefined;
  }
  return cur;
}

function jsonTypeOf(shape: Shape): string {
  if (typeof shape === 'string') return shape;
  if (Array.isArray(shape)) return 'array';
  return 'object';
}

const covered = (kind: BodyKind, path: string) => UNSUPPORTED[kind].some((r) => path === r.path || path.startsWith(`${r.path}.`) || path.startsWith(`${r.path}[]`));

for (const kind of Object.keys(SCHEMAS) as BodyKind[]) {
  test(`${kind}: every field of Docker's spec is implemented or in the unsupported table`, () => {
    const fields = fieldsOf(SCHEMAS[kind], '', []);
    assert.ok(fields.length > 0, 'the walk found fields');
    const missing: string[] = [];
    for (const f of fields) {
      const s = shapeAt(SHAPES[kind], f.path);
      const inTable = covered(kind, f.path);
      if (s === undefined && !inTable) missing.push(f.path);
      if (s !== undefined && inTable && s !== 'any') assert.unreachable(`${kind}.${f.path} is both implemented and in the unsupported table`);
      // Where both sides say what the type is, they agree.
      if (s !== undefined && s !== 'any' && f.type !== 'any' && !inTable) {
        const ours = jsonTypeOf(s);
        assert.ok(ours === f.type || (ours === 'object' && f.type === 'object'), `${kind}.${f.path}: Docker says ${f.type}, the shape says ${ours}`);
      }
    }
    assert.equal(missing, [], `fields of ${kind} neither implemented nor refused`);
  });
}

/** Fields not in the v1.41 YAML that Docker's Go types have (and Shoal refuses). */
const NOT_IN_YAML = new Set(['SwarmInitRequest.AutoLockManagers']);

test('every row of the table names a field of Docker\'s spec', () => {
  for (const kind of Object.keys(SCHEMAS) as BodyKind[]) {
    const paths = new Set(fieldsOf(SCHEMAS[kind], '', []).map((f) => f.path));
    for (const row of UNSUPPORTED[kind]) assert.ok(paths.has(row.path) || NOT_IN_YAML.has(`${kind}.${row.path}`), `${kind}: row ${row.path} is not a field of Docker's spec`);
  }
});

const BASE: Record<BodyKind, () => Record<string, unknown>> = {
  ServiceSpec: () => ({ Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox' } } }),
  SwarmSpec: () => ({ Name: 'default' }),
  SwarmInitRequest: () => ({ ListenAddr: '0.0.0.0:2377' }),
  SwarmJoinRequest: () => ({ ListenAddr: '0.0.0.0:2377', RemoteAddrs: ['10.0.0.1:2377'], JoinToken: 'x' }),
  NodeSpec: () => ({ Role: 'worker', Availability: 'active' }),
};

/** Sets `value` at a generic path, making one-element arrays for `[]`. */
function setAt(body: Record<string, unknown>, path: string, value: unknown): void {
  const toks = path.match(/[^.[\]]+|\[\]/g)!;
  let cur: Record<string, unknown> | unknown[] = body;
  for (let i = 0; i < toks.length; i++) {
    const last = i === toks.length - 1;
    const tok = toks[i];
    const next = toks[i + 1];
    const make = () => (next === '[]' ? [] : {});
    if (tok === '[]') {
      const arr = cur as unknown as unknown[];
      if (last) arr.push(value);
      else {
        arr[0] ??= make();
        cur = arr[0] as Record<string, unknown>;
      }
    } else {
      const obj = cur as Record<string, unknown>;
      if (last) obj[tok] = value;
      else {
        obj[tok] ??= make();
        cur = obj[tok] as Record<string, unknown>;
      }
    }
  }
}

function nonEmptyFor(type: string): unknown {
  return { string: 'x-not-a-default', integer: 7, number: 0.5, boolean: true, array: ['x'], object: { x: 'y' } }[type] ?? 'x';
}

for (const kind of Object.keys(SCHEMAS) as BodyKind[]) {
  const types = new Map(fieldsOf(SCHEMAS[kind], '', []).map((f) => [f.path, f.type]));
  for (const row of UNSUPPORTED[kind]) {
    test(`${kind}.${row.path}: a non-empty value is refused with 501 naming it; empty values pass`, () => {
      assert.is(checkShape(kind, BASE[kind]()), undefined, 'the base body is fine');
      const type = types.get(row.path) ?? 'boolean';
      const refused = BASE[kind]();
      setAt(refused, row.path, nonEmptyFor(type));
      const p = checkShape(kind, refused);
      assert.ok(p, `${row.path} set to a non-empty value must be refused`);
      assert.is(p!.status, 501);
      assert.ok(p!.field.replace(/\[\d+\]/g, '[]') === row.path, `the refusal names ${row.path} (got ${p!.field})`);
      assert.match(p!.reason, /not supported by Shoal yet/);
      for (const empty of [null, '', 0, false, [], {}]) {
        if (!isEmptyValue(empty)) continue;
        const ok = BASE[kind]();
        setAt(ok, row.path, empty);
        assert.is(checkShape(kind, ok), undefined, `${row.path} = ${JSON.stringify(empty)} passes`);
      }
      for (const allowed of row.allowed ?? []) {
        const ok = BASE[kind]();
        setAt(ok, row.path, allowed);
        assert.is(checkShape(kind, ok), undefined, `${row.path} = ${JSON.stringify(allowed)} (Docker's default) passes`);
      }
    });
  }
}

test('a refused field keeping its stored value passes (docker swarm update sends back what it read)', () => {
  const current = { Name: 'default', Raft: { KeepOldSnapshots: 3 } };
  assert.is(checkShape('SwarmSpec', { Name: 'default', Raft: { KeepOldSnapshots: 3 } }, { current }), undefined);
  assert.is(checkShape('SwarmSpec', { Name: 'default', Raft: { KeepOldSnapshots: 4 } }, { current })?.status, 501);
});

test('wrong JSON types are 400 naming the field', () => {
  const cases: [BodyKind, unknown, string][] = [
    ['ServiceSpec', { Name: 'a', TaskTemplate: { ContainerSpec: { Image: 'b', Env: 'A=1' } } }, 'TaskTemplate.ContainerSpec.Env'],
    ['ServiceSpec', { Name: 'a', TaskTemplate: [] }, 'TaskTemplate'],
    ['ServiceSpec', { Name: 'a', TaskTemplate: { ContainerSpec: { Image: 'b' } }, Mode: { Replicated: { Replicas: '3' } } }, 'Mode.Replicated.Replicas'],
    ['ServiceSpec', { Name: 'a', TaskTemplate: { ContainerSpec: { Image: 'b', Mounts: [null] } } }, 'TaskTemplate.ContainerSpec.Mounts[0]'],
    ['ServiceSpec', { Name: 'a', TaskTemplate: { ContainerSpec: { Image: 'b' } }, Labels: { a: 1 } }, 'Labels.a'],
    ['ServiceSpec', { Name: 'a', TaskTemplate: { ContainerSpec: { Image: 'b' } }, Mode: { Replicated: { Replicas: 1.5 } } }, 'Mode.Replicated.Replicas'],
    ['SwarmSpec', { Dispatcher: { HeartbeatPeriod: true } }, 'Dispatcher.HeartbeatPeriod'],
    ['NodeSpec', { Role: ['manager'] }, 'Role'],
    ['ServiceSpec', 'a string', 'ServiceSpec'],
  ];
  for (const [kind, body, field] of cases) {
    const p = checkShape(kind, body);
    assert.ok(p, `${JSON.stringify(body)} is refused`);
    assert.is(p!.status, 400);
    assert.is(p!.field, field);
  }
});

test('a field newer than v1.41 passes when empty and is refused when it asks for something', () => {
  const base = { Name: 'a', TaskTemplate: { ContainerSpec: { Image: 'b', OomScoreAdj: 0 } } };
  assert.is(checkShape('ServiceSpec', base), undefined);
  const p = checkShape('ServiceSpec', { Name: 'a', TaskTemplate: { ContainerSpec: { Image: 'b', OomScoreAdj: 500 } } });
  assert.is(p?.field, 'TaskTemplate.ContainerSpec.OomScoreAdj');
  assert.is(p?.status, 400);
});

test.run();
