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

/**
 * The mark of objects made by `normalize` (plain, sorted, frozen): applying them again needs
 * no copy. A non-enumerable own symbol, not a WeakSet: a set of every object in the store
 * costs the garbage collector (ephemerons) on every cycle and a hash lookup per visit, and
 * spread, `Object.assign`, `structuredClone` and JSON all leave it behind, so only objects
 * made here carry it.
 */
const NORMALIZED: unique symbol = Symbol('store.normalized');

function isMarked(v: object): boolean {
  return (v as { [NORMALIZED]?: true })[NORMALIZED] === true;
}

/** Marks `o` (made or adopted by `normalize`) and freezes it. */
function seal<T extends object>(o: T): T {
  Object.defineProperty(o, NORMALIZED, { value: true });
  return Object.freeze(o);
}

/**
 * A deep copy of `value` with sorted object keys and `undefined` properties dropped.
 * Throws `InvalidArgumentError` for values that are not plain JSON data (functions,
 * non-finite numbers, bigints, class instances, `__proto__` keys).
 */
export function toPlain<T>(value: T, where = 'object'): T {
  return plain(value, where, false) as T;
}

/**
 * Copies (or, with `adopt`, takes over in place) plain data. A normalized subtree is
 * shared as it is. With `freeze`, every object made or adopted is marked and frozen on
 * the way out, in the same pass (no second walk to freeze, none to mark).
 */
function plain(v: unknown, where: string, freeze: boolean, adopt = false): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`store: ${where} holds a non-finite number`);
    return v;
  }
  if (typeof v !== 'object') throw new InvalidArgumentError(`store: ${where} holds a ${typeof v}, not plain data`);
  if (isMarked(v)) return v; // already plain, sorted and frozen: share it
  if (Array.isArray(v)) {
    if (adopt && !Object.isFrozen(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        const y = x === undefined ? null : plain(x, `${where}[${i}]`, freeze, true);
        if (y !== x) v[i] = y;
      }
      return freeze ? seal(v) : v;
    }
    const out = v.map((x, i) => (x === undefined ? null : plain(x, `${where}[${i}]`, freeze, adopt)));
    return freeze ? seal(out) : out;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw new InvalidArgumentError(`store: ${where} is not plain data`);
  const src = v as Record<string, unknown>;
  const keys = Object.keys(src);
  if (adopt && !Object.isFrozen(src) && proto === Object.prototype && inOrder(keys, src)) {
    // Parsed from canonical JSON: keys already sorted, nothing undefined: keep the object.
    for (const k of keys) {
      if (k === '__proto__') throw new InvalidArgumentError(`store: ${where} has a __proto__ key`);
      const x = src[k];
      const y = plain(x, `${where}.${k}`, freeze, true);
      if (y !== x) src[k] = y;
    }
    return freeze ? seal(src) : src;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys.sort()) {
    if (k === '__proto__') throw new InvalidArgumentError(`store: ${where} has a __proto__ key`);
    const x = src[k];
    if (x !== undefined) out[k] = plain(x, `${where}.${k}`, freeze, adopt);
  }
  return freeze ? seal(out) : out;
}

/** Whether `keys` are strictly ascending (as `sort()` orders them) and none holds `undefined`. */
function inOrder(keys: string[], o: Record<string, unknown>): boolean {
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && !(keys[i - 1] < keys[i])) return false;
    if (o[keys[i]] === undefined) return false;
  }
  return true;
}

/** A plain, sorted, deeply frozen copy of `value`, marked so that normalizing it again is free. */
export function normalize<T extends object>(value: T, where = 'object'): T {
  return plain(value, where, true) as T;
}

/**
 * `normalize` for data this store owns outright (just parsed from the log or a
 * snapshot, referenced by no one else): objects whose keys are already in order are
 * frozen in place rather than copied. Never use it on a caller's object.
 */
export function normalizeOwned<T extends object>(value: T, where = 'object'): T {
  return plain(value, where, true, true) as T;
}

/** Whether `v` was made by `normalize` (plain, sorted, frozen). */
export function isNormalized(v: unknown): boolean {
  return v !== null && typeof v === 'object' && isMarked(v);
}

/** JSON with object keys sorted at every level: equal values give equal strings. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(plain(v, 'value', false));
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
  const actions: StoreAction[] = raw.sealed ? raw.actions.map((a: StoreAction) => ({ ...a, object: openObject(a.kind, a.object, cipher!) })) : raw.actions;
  // Freshly parsed and canonical: adopt the objects in place (frozen, marked), so applying
  // them costs no deep copy. One that does not normalize is left for the apply to refuse.
  for (const a of actions) {
    try {
      a.object = normalizeOwned(a.object, a.kind);
    } catch {
      // refused, with its reason, when the store stages it
    }
  }
  return actions;
}
