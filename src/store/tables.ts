/**
 * The committed state: one `Table` per kind, each with its ID map, name index and
 * secondary indexes. Objects in a table are deep-frozen; readers get them as they are.
 * Only `MemoryStore` (through a committed `Staging`) and `restore` write here.
 */
import { tableDef, KINDS } from './objects.ts';
import type { FindBy, IndexName, Kind, StoreObject, TableDef } from './objects.ts';

/** One table. Invariant: `byName` and `indexes` hold exactly the keys of the objects in `byId`. */
export class Table {
  readonly byId = new Map<string, StoreObject>();
  /** name → IDs with that name (one at most when names are unique). */
  private readonly byName = new Map<string, Set<string>>();
  private readonly indexes = new Map<IndexName, Map<string, Set<string>>>();
  readonly def: TableDef<StoreObject>;
  /**
   * Sorted answers of `findCommitted`, by query, until the next write to this table: the
   * controllers each list the same tables after every commit, and sorting 10,000 tasks
   * once per commit instead of once per reader is most of what a find costs.
   */
  readonly found = new Map<string, readonly StoreObject[]>();

  /** Every ID in order, until one is added or removed (updates, the most writes, keep it). */
  private sorted?: string[];

  constructor(readonly kind: Kind) {
    this.def = tableDef(kind);
    for (const name of Object.keys(this.def.indexes) as IndexName[]) this.indexes.set(name, new Map());
  }

  get(id: string): StoreObject | undefined {
    return this.byId.get(id);
  }

  /** Every ID, sorted as `byId` orders objects. */
  sortedIds(): readonly string[] {
    return (this.sorted ??= [...this.byId.keys()].sort());
  }

  /** The IDs of objects named `name`. */
  idsByName(name: string): ReadonlySet<string> {
    return this.byName.get(name) ?? EMPTY;
  }

  /** The IDs with key `value` in index `index`; asserts the table has that index. */
  idsByIndex(index: IndexName, value: string): ReadonlySet<string> {
    const m = this.indexes.get(index);
    if (!m) throw new Error(`store: ${this.kind} has no index ${index}`);
    return m.get(value) ?? EMPTY;
  }

  hasIndex(index: IndexName): boolean {
    return this.indexes.has(index);
  }

  /** Inserts or replaces `obj` (frozen by the caller), keeping the indexes right. */
  put(obj: StoreObject): void {
    if (this.found.size) this.found.clear();
    const old = this.byId.get(obj.ID);
    if (!old) this.sorted = undefined;
    if (old) this.unindex(old);
    this.byId.set(obj.ID, obj);
    this.index(obj);
  }

  remove(id: string): void {
    const old = this.byId.get(id);
    if (!old) return;
    if (this.found.size) this.found.clear();
    this.sorted = undefined;
    this.unindex(old);
    this.byId.delete(id);
  }

  private index(obj: StoreObject): void {
    const name = this.def.name?.(obj);
    if (name !== undefined) add(this.byName, name, obj.ID);
    for (const [idx, m] of this.indexes) {
      const key = this.def.indexes[idx]!(obj);
      if (key !== undefined) add(m, key, obj.ID);
    }
  }

  private unindex(obj: StoreObject): void {
    const name = this.def.name?.(obj);
    if (name !== undefined) del(this.byName, name, obj.ID);
    for (const [idx, m] of this.indexes) {
      const key = this.def.indexes[idx]!(obj);
      if (key !== undefined) del(m, key, obj.ID);
    }
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function add(m: Map<string, Set<string>>, key: string, id: string): void {
  let s = m.get(key);
  if (!s) m.set(key, (s = new Set()));
  s.add(id);
}

function del(m: Map<string, Set<string>>, key: string, id: string): void {
  const s = m.get(key);
  if (!s) return;
  s.delete(id);
  if (s.size === 0) m.delete(key);
}

/** All tables, by kind. */
export type Tables = Record<Kind, Table>;

export function emptyTables(): Tables {
  return Object.fromEntries(KINDS.map((k) => [k, new Table(k)])) as Tables;
}

/** Whether `obj` matches every criterion of `by` (evaluated on the object, not the indexes). */
export function matches(def: TableDef<StoreObject>, obj: StoreObject, by: FindBy): boolean {
  for (const [key, want] of Object.entries(by) as [keyof FindBy, string | undefined][]) {
    if (want === undefined) continue;
    if (key === 'name' || key === 'namePrefix') {
      const name = def.name?.(obj);
      if (name === undefined || (key === 'name' ? name !== want : !name.startsWith(want))) return false;
    } else if (def.indexes[key]?.(obj) !== want) return false;
  }
  return true;
}

/** Asserts every criterion of `by` is one the table supports. */
export function checkFindBy(table: Table, by: FindBy): void {
  for (const [key, want] of Object.entries(by) as [keyof FindBy, string | undefined][]) {
    if (want === undefined) continue;
    if (key === 'name' || key === 'namePrefix') {
      if (!table.def.name) throw new Error(`store: ${table.kind} has no names`);
    } else if (!table.hasIndex(key)) throw new Error(`store: ${table.kind} has no index ${key}`);
  }
}

/**
 * The committed objects of `table` matching `by`, sorted by ID. Uses the most selective
 * of the exact indexes given (name or a secondary index) and checks the rest on each object.
 */
export function findCommitted(table: Table, by: FindBy): StoreObject[] {
  checkFindBy(table, by);
  const key = queryKey(by);
  const cached = table.found.get(key);
  if (cached) return cached.slice();
  const out = findUncached(table, by, key === '');
  table.found.set(key, out);
  return out.slice();
}

/**
 * One string per distinct query: every criterion given, in key order, undefined ones left
 * out (empty for "all"). Built from the criteria themselves, so one added to `FindBy` can
 * never share a cached answer with a query without it.
 */
function queryKey(by: FindBy): string {
  let key = '';
  for (const k of Object.keys(by).sort()) {
    const want = (by as Record<string, unknown>)[k];
    if (want !== undefined) key += `${k}\u0000${String(want)}\u0001`;
  }
  return key;
}

/** `all`: `by` has no criteria (the whole table). */
function findUncached(table: Table, by: FindBy, all: boolean): StoreObject[] {
  let candidates: Iterable<string> | undefined;
  let best = Infinity;
  if (by.name !== undefined) {
    const ids = table.idsByName(by.name);
    candidates = ids;
    best = ids.size;
  }
  for (const key of ['serviceId', 'nodeId', 'desiredState', 'role'] as const) {
    const want = by[key];
    if (want === undefined) continue;
    const ids = table.idsByIndex(key, want);
    if (ids.size < best) {
      candidates = ids;
      best = ids.size;
    }
  }
  const out: StoreObject[] = [];
  // A large share of the table (all of it, or a service of 10,000 tasks): walk the IDs in
  // their kept order rather than sort the answer. A small one: sort just that.
  if (!candidates || best * 8 >= table.byId.size) {
    for (const id of table.sortedIds()) {
      const o = table.byId.get(id)!;
      if (all || matches(table.def, o, by)) out.push(o);
    }
    return out;
  }
  for (const id of candidates!) {
    const o = table.byId.get(id)!;
    if (matches(table.def, o, by)) out.push(o);
  }
  return out.sort(byId);
}

export function byId(a: { ID: string }, b: { ID: string }): number {
  return a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0;
}
