/**
 * Plain data in and out of the store: objects are normalised on the way in (a deep copy
 * of JSON-able values with sorted keys, `undefined` fields dropped, then frozen), and
 * snapshots and transactions are canonical JSON in UTF-8, so equal states give equal
 * bytes. Sensitive fields (secret `Spec.Data`, the cluster's CA key) pass through a
 * `FieldCipher` when one is given, so they can be sealed at rest.
 */
import { InvalidArgumentError } from '../api/errors.ts';
import { KINDS } from './objects.ts';
import type { Kind, StoreObject } from './objects.ts';
import type { StoreAction } from './actions.ts';

/**
 * Seals and opens sensitive field values (same shape as raft-ts's `PayloadCipher`).
 * `open(seal(x))` must equal `x`; `seal` must be deterministic for snapshots to be.
 */
export interface FieldCipher {
  seal(plain: Uint8Array): Uint8Array;
  open(sealed: Uint8Array): Uint8Array;
}

/** The fields that pass through the cipher, per kind: a path and how the clear value is encoded. */
const SENSITIVE: Partial<Record<Kind, { path: string[]; encoding: 'base64' | 'utf8' }[]>> = {
  secret: [{ path: ['Spec', 'Data'], encoding: 'base64' }],
  cluster: [{ path: ['RootCA', 'CAKey'], encoding: 'utf8' }, { path: ['RootCA', 'RootRotation', 'CAKey'], encoding: 'utf8' }],
};

/** Objects made by `normalize` (plain, sorted, frozen): applying them again needs no copy. */
const normalized = new WeakSet<object>();

/**
 * A deep copy of `value` with sorted object keys and `undefined` properties dropped.
 * Throws `InvalidArgumentError` for values that are not plain JSON data (functions,
 * non-finite numbers, bigints, class instances, `__proto__` keys).
 */
export function toPlain<T>(value: T, where = 'object'): T {
  return plain(value, where) as T;
}

function plain(v: unknown, where: string): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`store: ${where} holds a non-finite number`);
    return v;
  }
  if (typeof v === 'object' && normalized.has(v)) return v; // already plain, sorted and frozen: share it
  if (Array.isArray(v)) return v.map((x, i) => (x === undefined ? null : plain(x, `${where}[${i}]`)));
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) throw new InvalidArgumentError(`store: ${where} is not plain data`);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      if (k === '__proto__') throw new InvalidArgumentError(`store: ${where} has a __proto__ key`);
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = plain(x, `${where}.${k}`);
    }
    return out;
  }
  throw new InvalidArgumentError(`store: ${where} holds a ${typeof v}, not plain data`);
}

/** `toPlain` then `deepFreeze`, remembered so `isNormalized` can skip a second copy. */
export function normalize<T extends object>(value: T, where = 'object'): T {
  if (normalized.has(value)) return value;
  const out = deepFreeze(toPlain(value, where));
  mark(out);
  return out;
}

function mark(v: unknown): void {
  if (v === null || typeof v !== 'object' || normalized.has(v)) return;
  normalized.add(v);
  for (const x of Object.values(v)) mark(x);
}

/** Freezes `v` and everything reachable from it; returns `v`. */
export function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** JSON with object keys sorted at every level: equal values give equal strings. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(plain(v, 'value'));
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** A copy of `obj` (of `kind`) with its sensitive fields sealed (base64 of the sealed bytes). */
function sealObject(kind: Kind, obj: StoreObject, cipher: FieldCipher): StoreObject {
  const fields = SENSITIVE[kind];
  if (!fields) return obj;
  let out = obj;
  for (const f of fields) {
    const clear = getPath(obj, f.path);
    if (typeof clear !== 'string') continue;
    const bytes = f.encoding === 'base64' ? Buffer.from(clear, 'base64') : enc.encode(clear);
    out = setPath(out, f.path, Buffer.from(cipher.seal(bytes)).toString('base64'));
  }
  return out;
}

/** The inverse of `sealObject`. */
function openObject(kind: Kind, obj: StoreObject, cipher: FieldCipher): StoreObject {
  const fields = SENSITIVE[kind];
  if (!fields) return obj;
  let out = obj;
  for (const f of fields) {
    const sealed = getPath(obj, f.path);
    if (typeof sealed !== 'string') continue;
    const bytes = cipher.open(Buffer.from(sealed, 'base64'));
    out = setPath(out, f.path, f.encoding === 'base64' ? Buffer.from(bytes).toString('base64') : dec.decode(bytes));
  }
  return out;
}

function getPath(obj: unknown, path: string[]): unknown {
  let v: any = obj;
  for (const p of path) v = v?.[p];
  return v;
}

/** A copy of `obj` with `path` set to `value` (copies only the objects along the path). */
function setPath<T>(obj: T, path: string[], value: unknown): T {
  const [head, ...rest] = path;
  const o = obj as Record<string, unknown>;
  return { ...o, [head]: rest.length ? setPath(o[head], rest, value) : value } as T;
}

/** The whole store as plain data. Tables are arrays sorted by ID. */
export interface SnapshotData {
  index: number;
  tables: Record<Kind, StoreObject[]>;
}

const SNAPSHOT_FORMAT = 'shoal-store/1';

/** Canonical bytes of a snapshot; sensitive fields sealed with `cipher` when given. */
export function encodeSnapshot(data: SnapshotData, cipher?: FieldCipher): Uint8Array {
  const tables = Object.fromEntries(
    KINDS.map((k) => [k, cipher ? data.tables[k].map((o) => sealObject(k, o, cipher)) : data.tables[k]]),
  );
  return enc.encode(canonicalJson({ format: SNAPSHOT_FORMAT, index: data.index, sealed: !!cipher, tables }));
}

/**
 * Parses snapshot bytes; opens sealed fields with `cipher`. Throws `InvalidArgumentError`
 * for bytes that are not a snapshot of this format, or sealed ones without a cipher.
 */
export function decodeSnapshot(bytes: Uint8Array, cipher?: FieldCipher): SnapshotData {
  let raw: any;
  try {
    raw = JSON.parse(dec.decode(bytes));
  } catch (cause) {
    throw new InvalidArgumentError('store: snapshot is not valid JSON', { cause });
  }
  if (raw?.format !== SNAPSHOT_FORMAT || !Number.isSafeInteger(raw.index) || raw.index < 0 || typeof raw.tables !== 'object') {
    throw new InvalidArgumentError('store: not a store snapshot');
  }
  if (raw.sealed && !cipher) throw new InvalidArgumentError('store: snapshot is sealed and no cipher was given');
  const tables = {} as Record<Kind, StoreObject[]>;
  for (const k of KINDS) {
    const list = raw.tables[k] ?? [];
    if (!Array.isArray(list)) throw new InvalidArgumentError(`store: snapshot table ${k} is not a list`);
    tables[k] = raw.sealed ? list.map((o: StoreObject) => openObject(k, o, cipher!)) : list;
  }
  return { index: raw.index, tables };
}

/** Canonical bytes of a transaction (for the Raft log); sensitive fields sealed with `cipher` when given. */
export function encodeActions(actions: readonly StoreAction[], cipher?: FieldCipher): Uint8Array {
  const list = cipher ? actions.map((a) => ({ ...a, object: sealObject(a.kind, a.object, cipher) })) : actions;
  return enc.encode(canonicalJson({ sealed: !!cipher, actions: list }));
}

/** The inverse of `encodeActions`. Throws `InvalidArgumentError` for malformed bytes. */
export function decodeActions(bytes: Uint8Array, cipher?: FieldCipher): StoreAction[] {
  let raw: any;
  try {
    raw = JSON.parse(dec.decode(bytes));
  } catch (cause) {
    throw new InvalidArgumentError('store: transaction is not valid JSON', { cause });
  }
  if (!Array.isArray(raw?.actions)) throw new InvalidArgumentError('store: not a store transaction');
  if (raw.sealed && !cipher) throw new InvalidArgumentError('store: transaction is sealed and no cipher was given');
  for (const a of raw.actions) {
    if (!KINDS.includes(a?.kind) || !['create', 'update', 'delete'].includes(a?.action) || typeof a?.object !== 'object') {
      throw new InvalidArgumentError('store: malformed action in transaction');
    }
  }
  return raw.sealed ? raw.actions.map((a: StoreAction) => ({ ...a, object: openObject(a.kind, a.object, cipher!) })) : raw.actions;
}
