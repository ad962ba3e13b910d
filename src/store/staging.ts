/**
 * A set of pending changes over the committed tables, with the checks every change must
 * pass: IDs exist or not, versions match, names stay unique. The same checks run twice:
 * in a write transaction before proposing (so bad input is refused without proposing),
 * and again when the committed actions are applied (so a conflict with a transaction
 * committed in between is found identically on every manager). Nothing here touches
 * the tables until `commitTo`.
 */
import { ConflictError, InvalidArgumentError, NotFoundError } from '../api/errors.ts';
import { TASK_STATES, taskStateRank } from '../api/types/task.ts';
import type { Task } from '../api/types/task.ts';
import { tableDef } from './objects.ts';
import type { FindBy, Kind, StoreObject } from './objects.ts';
import type { StoreAction } from './actions.ts';
import { byId, checkFindBy, findCommitted, matches } from './tables.ts';
import type { Tables } from './tables.ts';

/** Docker's message for a stale version (SwarmKit `ErrSequenceConflict`). */
export const OUT_OF_SEQUENCE = 'update out of sequence';

const ID_SHAPE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** A staged change: the object's final state in this transaction (null = deleted). */
interface Change {
  kind: Kind;
  id: string;
  obj: StoreObject | null;
  /**
   * A deletion's quoted version, checked again at apply; undefined: the writer quoted none
   * and the object goes whatever its version then (a write committed while this
   * transaction was in flight is no conflict, as in SwarmKit's serialised transactions).
   */
  deleteVersion?: number;
}

/** One committed change, as watchers see it. */
export interface AppliedChange {
  kind: Kind;
  action: 'create' | 'update' | 'delete';
  object: StoreObject;
  old?: StoreObject;
}

export class Staging {
  /** Keyed `kind/id`, in the order objects were first touched. */
  private readonly changes = new Map<string, Change>();

  constructor(private readonly base: Tables) {}

  /** The object as this transaction sees it (staged state first, then committed). */
  get(kind: Kind, id: string): StoreObject | undefined {
    const c = this.changes.get(`${kind}/${id}`);
    if (c) return c.obj ?? undefined;
    return this.base[kind].get(id);
  }

  /** Objects matching `by` as this transaction sees them, sorted by ID. */
  find(kind: Kind, by: FindBy): StoreObject[] {
    const table = this.base[kind];
    checkFindBy(table, by);
    const touched = [...this.changes.values()].filter((c) => c.kind === kind);
    if (touched.length === 0) return findCommitted(table, by);
    const ids = new Set(touched.map((c) => c.id));
    const out = findCommitted(table, by).filter((o) => !ids.has(o.ID));
    for (const c of touched) if (c.obj && matches(table.def, c.obj, by)) out.push(c.obj);
    return out.sort(byId);
  }

  create(kind: Kind, obj: StoreObject): void {
    checkId(kind, obj);
    if (this.get(kind, obj.ID)) throw new ConflictError(`${kind} ${obj.ID} already exists`);
    this.checkName(kind, obj);
    this.stage(kind, obj.ID, obj);
  }

  /** Checks `version` against the object's current version; returns that current object. */
  update(kind: Kind, obj: StoreObject, version: number): StoreObject {
    checkId(kind, obj);
    const cur = this.get(kind, obj.ID);
    if (!cur) throw new NotFoundError(`${kind} ${obj.ID} not found`);
    if (cur.Version?.Index !== version) throw new ConflictError(OUT_OF_SEQUENCE);
    if (kind === 'task') checkForward(cur as Task, obj as Task);
    this.checkName(kind, obj);
    this.stage(kind, obj.ID, obj);
    return cur;
  }

  delete(kind: Kind, id: string, version?: number): StoreObject {
    const cur = this.get(kind, id);
    if (!cur) throw new NotFoundError(`${kind} ${id} not found`);
    if (version !== undefined && cur.Version?.Index !== version) throw new ConflictError(OUT_OF_SEQUENCE);
    this.stage(kind, id, null);
    this.changes.get(`${kind}/${id}`)!.deleteVersion = version;
    return cur;
  }

  /** Whether nothing is staged. */
  get empty(): boolean {
    return this.changes.size === 0;
  }

  /**
   * The actions that turn the committed state into the staged one, in first-touch order:
   * an object created and deleted in the same transaction yields nothing; an update
   * carries the committed version it was checked against; a deletion only the version
   * its writer quoted, if any.
   */
  toActions(): StoreAction[] {
    const out: StoreAction[] = [];
    for (const c of this.changes.values()) {
      const committed = this.base[c.kind].get(c.id);
      if (c.obj === null) {
        if (committed) out.push({ action: 'delete', kind: c.kind, object: committed, ...(c.deleteVersion !== undefined ? { version: c.deleteVersion } : {}) } as StoreAction);
      } else if (committed) {
        out.push({ action: 'update', kind: c.kind, object: c.obj, version: committed.Version.Index } as StoreAction);
      } else {
        out.push({ action: 'create', kind: c.kind, object: c.obj } as StoreAction);
      }
    }
    return out;
  }

  /** Writes the staged state into the tables; returns what changed, in first-touch order. */
  commitTo(tables: Tables): AppliedChange[] {
    const out: AppliedChange[] = [];
    for (const c of this.changes.values()) {
      const table = tables[c.kind];
      const old = table.get(c.id);
      if (c.obj === null) {
        if (!old) continue;
        table.remove(c.id);
        out.push({ kind: c.kind, action: 'delete', object: old });
      } else {
        table.put(c.obj);
        out.push(old ? { kind: c.kind, action: 'update', object: c.obj, old } : { kind: c.kind, action: 'create', object: c.obj });
      }
    }
    return out;
  }

  private stage(kind: Kind, id: string, obj: StoreObject | null): void {
    const key = `${kind}/${id}`;
    const existing = this.changes.get(key);
    if (existing) existing.obj = obj;
    else this.changes.set(key, { kind, id, obj });
  }

  /** Refuses a name another live object of a unique-name table already has. */
  private checkName(kind: Kind, obj: StoreObject): void {
    const def = tableDef(kind);
    if (!def.name) return;
    const name = def.name(obj);
    if (!def.uniqueName) return;
    if (!name) throw new InvalidArgumentError(`${kind} name is required`);
    for (const c of this.changes.values()) {
      if (c.kind === kind && c.id !== obj.ID && c.obj && def.name(c.obj) === name) throw nameConflict(kind, name);
    }
    for (const id of this.base[kind].idsByName(name)) {
      if (id !== obj.ID && !this.changes.has(`${kind}/${id}`)) throw nameConflict(kind, name);
    }
  }
}

/** Task state only moves forward (DESIGN rule 8): a backward move is a writer's bug, refused here. */
function checkForward(cur: Task, next: Task): void {
  const from = cur.Status?.State;
  const to = next.Status?.State;
  if (from === undefined || to === undefined || from === to) return;
  if (!TASK_STATES.includes(to)) throw new InvalidArgumentError(`task ${next.ID}: unknown state ${JSON.stringify(to)}`);
  if (taskStateRank(to) < taskStateRank(from)) {
    throw new InvalidArgumentError(`task ${next.ID}: state cannot move back from ${from} to ${to}`);
  }
}

function nameConflict(kind: Kind, name: string): ConflictError {
  return new ConflictError(`${kind} ${name} already exists`);
}

function checkId(kind: Kind, obj: StoreObject): void {
  if (typeof obj?.ID !== 'string' || !ID_SHAPE.test(obj.ID)) {
    throw new InvalidArgumentError(`${kind} has an invalid ID ${JSON.stringify(obj?.ID)}`);
  }
}
