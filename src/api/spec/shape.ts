/**
 * The JSON shape of every request body field Shoal implements, by body kind, and the
 * walk that checks a body against it before anything else reads the body. A wrong type
 * anywhere (`"Replicas": "3"`, `"Env": "A=1"`, `"TaskTemplate": []`) is a 400 naming the
 * field, never a crash deeper down. A key that is not in the shape is looked up in the
 * table of fields Shoal does not implement (`unsupported.ts`, 501 when it asks for
 * something); a key in neither (a field newer than API v1.41) passes only when empty.
 *
 * `null` counts as absent, as Go's JSON decoding does; `normalizeNulls` removes nulls
 * from known fields so the code after this check never sees them. Pure.
 */
import { type BodyKind, isEmptyValue, isRefused, refusalReason, unsupportedRow } from './unsupported.ts';

/** A field's JSON type: a scalar, `[elem]` for an array, `{ $map: value }` for a string-keyed map, or an object of fields. */
export type Shape = 'string' | 'integer' | 'number' | 'boolean' | 'any' | readonly [Shape] | MapShape | FieldsShape;
/** An object with arbitrary string keys, each value of one shape (labels, sysctls). */
export interface MapShape {
  readonly $map: Shape;
}
/** An object with known fields. */
export interface FieldsShape {
  readonly [field: string]: Shape;
}

/** A problem found by the walk; `status` 400 (type, unknown field) or 501 (not implemented). */
export interface ShapeProblem {
  field: string;
  reason: string;
  status: 400 | 501;
}

const str = 'string';
const int = 'integer';
const bool = 'boolean';
const strings: Shape = [str];
const labels: Shape = { $map: str };

const updateConfig: FieldsShape = { Parallelism: int, Delay: int, FailureAction: str, Monitor: int, MaxFailureRatio: 'number', Order: str };
const networkAttachment: FieldsShape = { Target: str, Aliases: strings };
const fileRef: FieldsShape = { Name: str, UID: str, GID: str, Mode: int };

const mount: FieldsShape = {
  Target: str,
  Source: str,
  Type: str,
  ReadOnly: bool,
  // Docker on Linux ignores consistency (it is for Docker Desktop's file sharing): so does Shoal.
  Consistency: str,
  BindOptions: {},
  // Shoal's volumes start empty, which is what NoCopy asks for; false is Docker's copy-up.
  VolumeOptions: { NoCopy: bool, DriverConfig: {} },
  TmpfsOptions: { SizeBytes: int, Mode: int },
};

const containerSpec: FieldsShape = {
  Image: str,
  Labels: labels,
  Command: strings,
  Args: strings,
  Hostname: str,
  Env: strings,
  Dir: str,
  User: str,
  // Privileges is the container sandbox's (its checks live with it).
  Privileges: 'any',
  ReadOnly: bool,
  Mounts: [mount],
  StopSignal: str,
  StopGracePeriod: int,
  Healthcheck: { Test: strings, Interval: int, Timeout: int, Retries: int, StartPeriod: int },
  Hosts: strings,
  Secrets: [{ File: fileRef, SecretID: str, SecretName: str }],
  Configs: [{ File: fileRef, Runtime: 'any', ConfigID: str, ConfigName: str }],
  Sysctls: labels,
  CapabilityAdd: strings,
  CapabilityDrop: strings,
  Ulimits: [{ Name: str, Soft: int, Hard: int }],
  Init: bool,
  // Shoal extensions (host-access.ts): host devices and the /dev/shm size.
  Devices: [{ PathOnHost: str, PathInContainer: str, CgroupPermissions: str }],
  ShmSize: int,
};

const taskSpec: FieldsShape = {
  ContainerSpec: containerSpec,
  Resources: {
    Limits: { NanoCPUs: int, MemoryBytes: int, Pids: int },
    Reservations: {
      NanoCPUs: int,
      MemoryBytes: int,
      GenericResources: [{ NamedResourceSpec: { Kind: str, Value: str }, DiscreteResourceSpec: { Kind: str, Value: int } }],
    },
  },
  RestartPolicy: { Condition: str, Delay: int, MaxAttempts: int, Window: int },
  Placement: {
    Constraints: strings,
    Preferences: [{ Spread: { SpreadDescriptor: str } }],
    MaxReplicas: int,
    Platforms: [{ Architecture: str, OS: str }],
  },
  ForceUpdate: int,
  Runtime: str,
  Networks: [networkAttachment],
};

const swarmSpec: FieldsShape = {
  Name: str,
  Labels: labels,
  Orchestration: { TaskHistoryRetentionLimit: int },
  Raft: {},
  Dispatcher: { HeartbeatPeriod: int },
  CAConfig: { NodeCertExpiry: int, SigningCACert: str, SigningCAKey: str, ForceRotate: int, ExternalCAs: [{ Protocol: str, URL: str, CACert: str }] },
  EncryptionConfig: { AutoLockManagers: bool },
  TaskDefaults: {},
};

/** `swarm init`'s spec: no root rotation there (its rows are in `unsupported.ts`). */
const initSwarmSpec: FieldsShape = { ...swarmSpec, CAConfig: { NodeCertExpiry: int } };

/** The shapes of the bodies, by kind. */
export const SHAPES: Readonly<Record<BodyKind, FieldsShape>> = {
  ServiceSpec: {
    Name: str,
    Labels: labels,
    TaskTemplate: taskSpec,
    Mode: { Replicated: { Replicas: int }, Global: {}, ReplicatedJob: { MaxConcurrent: int, TotalCompletions: int }, GlobalJob: {} },
    UpdateConfig: updateConfig,
    RollbackConfig: updateConfig,
    Networks: [networkAttachment],
    EndpointSpec: { Mode: str, Ports: [{ Name: str, Protocol: str, TargetPort: int, PublishedPort: int, PublishMode: str }] },
  },
  SwarmSpec: swarmSpec,
  SwarmInitRequest: {
    ListenAddr: str,
    AdvertiseAddr: str,
    DataPathPort: int,
    DefaultAddrPool: strings,
    ForceNewCluster: bool,
    SubnetSize: int,
    Spec: initSwarmSpec,
    AutoLockManagers: bool,
    Availability: str,
  },
  SwarmJoinRequest: { ListenAddr: str, AdvertiseAddr: str, RemoteAddrs: strings, JoinToken: str, Availability: str },
  NodeSpec: { Name: str, Labels: labels, Role: str, Availability: str },
};

/** Options of {@link checkShape}. */
export interface ShapeOptions {
  /** The stored object an update replaces: a not-implemented field keeping its current value passes. */
  current?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' && !Number.isInteger(v)) return `the number ${v}`;
  return `${typeof v} ${JSON.stringify(v)}`.slice(0, 80);
}

function at(v: unknown, key: string | number): unknown {
  if (Array.isArray(v) && typeof key === 'number') return v[key];
  return isObject(v) && typeof key === 'string' && Object.hasOwn(v, key) ? v[key] : undefined;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

interface Walk {
  kind: BodyKind;
}

function walk(w: Walk, v: unknown, shape: Shape, field: string, generic: string, current: unknown): ShapeProblem | undefined {
  if (v === null || v === undefined || shape === 'any') return undefined;
  const wrong = (expected: string): ShapeProblem => ({ field, reason: `must be ${expected} (got ${typeName(v)})`, status: 400 });
  if (shape === 'string') return typeof v === 'string' ? undefined : wrong('a string');
  if (shape === 'boolean') return typeof v === 'boolean' ? undefined : wrong('a boolean');
  if (shape === 'number') return typeof v === 'number' && Number.isFinite(v) ? undefined : wrong('a number');
  if (shape === 'integer') return typeof v === 'number' && Number.isInteger(v) ? undefined : wrong('an integer');
  if (Array.isArray(shape)) {
    if (!Array.isArray(v)) return wrong('an array');
    for (const [i, e] of v.entries()) {
      if (e === null || e === undefined) return { field: `${field}[${i}]`, reason: 'must not be null', status: 400 };
      const p = walk(w, e, shape[0], `${field}[${i}]`, `${generic}[]`, at(current, i));
      if (p) return p;
    }
    return undefined;
  }
  if (!isObject(v)) return wrong('an object');
  if ('$map' in shape) {
    for (const [k, e] of Object.entries(v)) {
      const p = walk(w, e, (shape as MapShape).$map, `${field}.${k}`, `${generic}{}`, at(current, k));
      if (p) return p;
    }
    return undefined;
  }
  const fields = shape as FieldsShape;
  for (const [k, e] of Object.entries(v)) {
    const f = field ? `${field}.${k}` : k;
    const g = generic ? `${generic}.${k}` : k;
    if (Object.hasOwn(fields, k)) {
      const p = walk(w, e, fields[k], f, g, at(current, k));
      if (p) return p;
      continue;
    }
    const row = unsupportedRow(w.kind, g);
    if (row) {
      if (isRefused(row, e) && !(current !== undefined && deepEqual(e, at(current, k)))) return { field: f, reason: refusalReason(row), status: 501 };
      continue;
    }
    // A field newer than the API Shoal speaks: harmless while it asks for nothing.
    if (!isEmptyValue(e)) return { field: f, reason: 'unknown field: Shoal does not implement it', status: 400 };
  }
  return undefined;
}

/**
 * The first problem with the JSON types of `body` as a `kind`, or a field it sets that
 * Shoal does not implement, or undefined when it is fine. The body itself must be an
 * object. Does not check values (see `validate.ts`).
 */
export function checkShape(kind: BodyKind, body: unknown, opts: ShapeOptions = {}): ShapeProblem | undefined {
  if (!isObject(body)) return { field: kind, reason: `must be an object (got ${typeName(body)})`, status: 400 };
  return walk({ kind }, body, SHAPES[kind], '', '', opts.current);
}

/** A copy of `body` without null-valued object fields (Go reads null as absent). Run after {@link checkShape}. */
export function normalizeNulls<T>(body: T): T {
  const clean = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(clean);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).filter(([, e]) => e !== null).map(([k, e]) => [k, clean(e)]));
    return v;
  };
  return clean(body) as T;
}
